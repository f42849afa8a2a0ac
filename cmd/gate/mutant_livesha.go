//go:build gameday_broken_livesha

package main

// mutant: this deliberately broken build signs live payloads with a wrong LIVESHA (mutant_edge.go). Built only
// by the mutant matrix (harness/mutants).
const mutant = mutantLiveSHA
