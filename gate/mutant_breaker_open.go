//go:build !gameday_broken_breaker_open

package gate

// brokenBreakerNeverOpens is false in every normal build. A gate built with
// the gameday_broken_breaker_open tag never opens its circuit breaker: its
// threshold is more failures than any run makes
// (mutant_breaker_open_broken.go, mutant_edge.go); the GameDay mutant matrix
// builds it to show that its checks catch such a gate.
const brokenBreakerNeverOpens = false
