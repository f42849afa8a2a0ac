//go:build gameday_broken_breaker_open || gameday_broken_breaker_close

package main

import (
	"io"
	"slices"
	"testing"
)

// TestMutantBreakerFlags: this build's `gate serve` gets the breaker flag
// that breaks it in place of the caller's own (the command line refuses a
// flag given twice), and no edge.
func TestMutantBreakerFlags(t *testing.T) {
	caller := []string{"--web.listen-address", "127.0.0.1:0", "--breaker-threshold", "3", "--breaker-cooldown=10s"}
	args, public, err := mutantArgs(caller, func(string) string { return "" })
	if err != nil || public != "" {
		t.Fatalf("mutantArgs: edge %q, %v", public, err)
	}
	want := [][]string{
		{"--web.listen-address", "127.0.0.1:0", "--breaker-cooldown=10s", "--breaker-threshold", "2147483647"},
		{"--web.listen-address", "127.0.0.1:0", "--breaker-threshold", "3", "--breaker-cooldown", "8760h"},
	}
	if !slices.ContainsFunc(want, func(w []string) bool { return slices.Equal(args, w) }) {
		t.Fatalf("args %q, want one of %q", args, want)
	}
	app, cmds := newApp(io.Discard, io.Discard)
	if cmd, err := app.Parse(append([]string{"serve"}, args...)); err != nil || cmds[cmd] == nil {
		t.Fatalf("gate serve refuses them: %v", err)
	}
}
