//go:build gameday_broken_breaker_open

package main

// mutant: this deliberately broken build never opens its circuit breaker (mutant_edge.go). Built only
// by the mutant matrix (harness/mutants).
const mutant = mutantBreakerOpen
