//go:build gameday_broken_breaker_open || gameday_broken_breaker_close

package main

import (
	"slices"
	"testing"
)

// TestMutantBreakerFlags: this build's `gate serve` gets the breaker flag
// that breaks it after the caller's own (the last one wins), and no edge.
func TestMutantBreakerFlags(t *testing.T) {
	caller := []string{"--listen", "127.0.0.1:0", "--breaker-threshold", "3", "--breaker-cooldown", "10s"}
	args, public, err := mutantArgs(caller, func(string) string { return "" })
	if err != nil || public != "" {
		t.Fatalf("mutantArgs: edge %q, %v", public, err)
	}
	added := args[len(caller):]
	never := [][]string{{"--breaker-threshold", "2147483647"}, {"--breaker-cooldown", "8760h"}}
	if !slices.ContainsFunc(never, func(f []string) bool { return slices.Equal(added, f) }) {
		t.Fatalf("appended %q, want one of %q", added, never)
	}
}
