//go:build gameday_broken_fallback500

package gate

// brokenFallback500: this deliberately broken build answers 500 where it
// should fall back to its snapshot. Built only by the mutant matrix
// (harness/mutants); see mutant_edge.go.
const brokenFallback500 = true
