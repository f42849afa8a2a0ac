//go:build gameday_broken_audit_loss

package main

// restartMutant: this deliberately broken build loses the last audit entries when it starts again after a kill (mutant_restart.go).
// Built only by the mutant matrix (harness/mutants).
const restartMutant = restartAuditLoss
