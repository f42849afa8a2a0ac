//go:build !gameday_broken_double_count

package gate

// brokenDoubleCount is false in every normal build. A gate built with the
// gameday_broken_double_count tag counts each /metrics response twice in
// quannex_metrics_requests_total (mutant_double_count_broken.go,
// mutant_edge.go); the GameDay mutant matrix builds it to show that its
// checks catch such a gate.
const brokenDoubleCount = false
