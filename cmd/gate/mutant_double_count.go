//go:build gameday_broken_double_count

package main

// mutant: this deliberately broken build counts each /metrics response twice (mutant_edge.go). Built only
// by the mutant matrix (harness/mutants).
const mutant = mutantDoubleCount
