//go:build gameday_broken_stressor

package main

import (
	"testing"
	"time"
)

// TestIdleTakesOverBurnsOnly: this build idles instead of burning, and
// fills nothing, and leaves --kill, --probe-write, --unfill and bad flags to main.
func TestIdleTakesOverBurnsOnly(t *testing.T) {
	if d, ok := idleFor([]string{"--cores", "2", "--duration", "3s"}); !ok || d != 3*time.Second {
		t.Fatalf("a burn: idle %v for %s", ok, d)
	}
	if d, ok := idleFor([]string{"--fill", "/cache", "--fill-max", "16777216", "--duration", "4s"}); !ok || d != 4*time.Second {
		t.Fatalf("a fill: idle %v for %s", ok, d)
	}
	for _, args := range [][]string{{"--kill"}, {"--probe-write", "/tmp"}, {"--unfill", "/cache"}, {"--no-such-flag"}} {
		if _, ok := idleFor(args); ok {
			t.Errorf("%q taken over", args)
		}
	}
}
