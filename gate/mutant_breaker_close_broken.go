//go:build gameday_broken_breaker_close

package gate

// brokenBreakerNeverCloses: this deliberately broken build never closes its
// circuit breaker again: its cooldown outlasts any run, so no trial is made.
// Built only by the mutant matrix (harness/mutants); see mutant_edge.go.
const brokenBreakerNeverCloses = true
