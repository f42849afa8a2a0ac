//go:build !gameday_broken_fallback500

package gate

// brokenFallback500 is false in every normal build. A gate built with the
// gameday_broken_fallback500 tag answers 500 where it should fall back to
// its snapshot (mutant_fallback500_broken.go, mutant_edge.go); the GameDay
// mutant matrix builds it to show that its checks catch such a gate.
const brokenFallback500 = false
