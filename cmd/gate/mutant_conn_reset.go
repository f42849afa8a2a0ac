//go:build gameday_broken_conn_reset

package main

// mutant: this deliberately broken build drops one /metrics connection in 50 mid-response (mutant_edge.go). Built only
// by the mutant matrix (harness/mutants).
const mutant = mutantConnReset
