//go:build gameday_broken_conn_reset

package gate

// brokenConnReset: this deliberately broken build drops the connection
// of every ConnResetEvery-th /metrics request mid-response. Built only by the
// mutant matrix (harness/mutants); see mutant_edge.go.
const brokenConnReset = true
