//go:build gameday_broken_livesha

package gate

// brokenLiveSHA: this deliberately broken build signs live payloads with a
// LIVESHA that does not match them. Built only by the mutant matrix
// (harness/mutants); see mutant_edge.go.
const brokenLiveSHA = true
