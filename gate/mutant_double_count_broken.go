//go:build gameday_broken_double_count

package gate

// brokenDoubleCount: this deliberately broken build counts each /metrics
// response twice in quannex_metrics_requests_total. Built only by the mutant
// matrix (harness/mutants); see mutant_edge.go.
const brokenDoubleCount = true
