//go:build gameday_broken_fallback500

package main

// mutant: this deliberately broken build answers 500 where it should fall back to its snapshot (mutant_edge.go). Built only
// by the mutant matrix (harness/mutants).
const mutant = mutantFallback500
