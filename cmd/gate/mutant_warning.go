//go:build gameday_broken_warning

package main

// mutant: this deliberately broken build serves its snapshot without the Warning header (mutant_edge.go). Built only
// by the mutant matrix (harness/mutants).
const mutant = mutantNoWarning
