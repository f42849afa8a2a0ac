//go:build !gameday_broken_breaker_close

package gate

// brokenBreakerNeverCloses is false in every normal build. A gate built with
// the gameday_broken_breaker_close tag never closes its circuit breaker
// again: its cooldown outlasts any run, so no trial is made
// (mutant_breaker_close_broken.go, mutant_edge.go); the GameDay mutant
// matrix builds it to show that its checks catch such a gate.
const brokenBreakerNeverCloses = false
