//go:build gameday_broken_cache_wipe

package main

// restartMutant: this deliberately broken build starts again after a kill without its snapshots (mutant_restart.go).
// Built only by the mutant matrix (harness/mutants).
const restartMutant = restartCacheWipe
