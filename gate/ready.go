package gate

import (
	"errors"
	"sync"
	"time"

	"github.com/quannex/gameday/gate/snapshot"
)

// knownSnapshot is what the gate knows of its newest verified snapshot, so
// that /readyz, which anyone may call as often as they like, answers from
// memory instead of reading and hashing the cache on every request. It
// learns from what the gate does anyway: the slots verified at start-up,
// every payload recorded, and every Load (a /metrics fallback or a
// selftest), which verifies what is on disk now. A file damaged or removed
// behind the gate's back is therefore noticed at the next load, not at the
// next /readyz.
type knownSnapshot struct {
	mu      sync.Mutex
	at      time.Time // generation time of the newest verified snapshot; zero: none
	records uint64    // counts recorded calls, so a load that raced a record cannot undo it
}

// recorded notes a snapshot generated at at that is verified on disk.
func (k *knownSnapshot) recorded(at time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.records++
	if at.After(k.at) {
		k.at = at
	}
}

// load runs Load through k and learns from its result.
func (k *knownSnapshot) load(store *snapshot.Store, kind string) (*snapshot.Snapshot, []*snapshot.RejectError, error) {
	k.mu.Lock()
	before := k.records
	k.mu.Unlock()
	snap, rejected, err := store.Load(kind)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.records != before { // a newer payload was recorded while Load read the slots
		return snap, rejected, err
	}
	switch {
	case err == nil:
		k.at = snap.GeneratedAt
	case errors.Is(err, snapshot.ErrNone):
		k.at = time.Time{}
	}
	return snap, rejected, err
}

// newest returns the generation time of the newest verified snapshot the
// gate knows of; zero if none.
func (k *knownSnapshot) newest() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.at
}
