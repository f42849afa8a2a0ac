//go:build gameday_broken_breaker_close

package main

// mutant: this deliberately broken build never closes its circuit breaker again (mutant_edge.go). Built only
// by the mutant matrix (harness/mutants).
const mutant = mutantBreakerClose
