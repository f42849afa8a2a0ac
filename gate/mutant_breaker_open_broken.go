//go:build gameday_broken_breaker_open

package gate

// brokenBreakerNeverOpens: this deliberately broken build never opens its
// circuit breaker: its threshold is more failures than any run makes. Built
// only by the mutant matrix (harness/mutants); see mutant_edge.go.
const brokenBreakerNeverOpens = true
