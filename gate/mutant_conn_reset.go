//go:build !gameday_broken_conn_reset

package gate

// brokenConnReset is false in every normal build. A gate built with the
// gameday_broken_conn_reset tag drops the connection of every
// ConnResetEvery-th /metrics request mid-response (mutant_conn_reset_broken.go,
// mutant_edge.go); the GameDay mutant matrix builds it to show that its
// checks catch such a gate.
const brokenConnReset = false
