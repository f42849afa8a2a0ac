//go:build gameday_broken_slow_restart

package main

// restartMutant: this deliberately broken build takes 12 s to serve again after a kill (mutant_restart.go).
// Built only by the mutant matrix (harness/mutants).
const restartMutant = restartSlow
