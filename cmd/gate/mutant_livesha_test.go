//go:build gameday_broken_livesha

package main

import (
	"testing"

	"github.com/quannex/gameday/gate/integrity"
)

// TestMutantLiveSHA: this build's live payloads carry a LIVESHA that does
// not verify, and a Repr-Digest of what is sent.
func TestMutantLiveSHA(t *testing.T) {
	g := behindEdge(t)
	if err := integrity.VerifyLiveSHA(metricsOf(t, g.direct).body); err != nil {
		t.Fatalf("the gate itself: %v", err)
	}
	r := metricsOf(t, g.edged)
	if err := integrity.VerifyLiveSHA(r.body); err != integrity.ErrLiveSHAMismatch {
		t.Fatalf("through the edge: %v, want %v", err, integrity.ErrLiveSHAMismatch)
	}
	if got, want := r.header.Get("Repr-Digest"), integrity.ReprDigest(r.body); got != want {
		t.Fatalf("Repr-Digest %s, want %s", got, want)
	}
}
