//go:build !gameday_broken_livesha

package gate

// brokenLiveSHA is false in every normal build. A gate built with the
// gameday_broken_livesha tag signs live payloads with a LIVESHA that does
// not match them (mutant_livesha_broken.go, mutant_edge.go); the GameDay
// mutant matrix builds it to show that its checks catch such a gate.
const brokenLiveSHA = false
