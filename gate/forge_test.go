package gate_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// forgeSlot writes, as a neighbour with write access to the cache directory
// would, a snapshot slot file in the unkeyed format gates before the cache
// key wrote and loaded ("QNXSNAP2": every digest in it is a plain SHA-256
// that anyone recomputes), with a generation sequence above any the gate
// has reached, so that a gate trusting the format takes it for its newest
// snapshot.
func forgeSlot(t *testing.T, cacheDir, file, kind string, body []byte, generatedAt time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	meta, err := json.Marshal(map[string]any{
		"kind": kind, "content_type": "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
		"generated_at": generatedAt.UTC(), "size": len(body), "sha256": hex.EncodeToString(sum[:]),
	})
	if err != nil {
		t.Fatal(err)
	}
	const magic, headerLen, padTo = "QNXSNAP2", 8 + 32 + 8 + 4 + 4, 4 << 10
	n := headerLen + len(meta) + len(body)
	buf := make([]byte, (n+padTo-1)/padTo*padTo)
	copy(buf, magic)
	binary.BigEndian.PutUint64(buf[40:], 1<<40)
	binary.BigEndian.PutUint32(buf[48:], uint32(len(meta)))
	binary.BigEndian.PutUint32(buf[52:], uint32(len(body)))
	copy(buf[headerLen:], meta)
	copy(buf[headerLen+len(meta):], body)
	h := sha256.New()
	h.Write(buf[40 : headerLen+len(meta)])
	h.Write(buf[n:])
	copy(buf[8:], h.Sum(nil))
	if err := os.WriteFile(filepath.Join(cacheDir, file), buf, 0o640); err != nil {
		t.Fatal(err)
	}
}

// forgedPayload is a text payload a forger would have the gate serve: it
// parses, and its LIVESHA line matches.
var forgedPayload = []byte("# HELP forged_metric Planted in the cache directory.\n# TYPE forged_metric gauge\nforged_metric 1\n# LIVESHA: " +
	func() string {
		s := sha256.Sum256([]byte("# HELP forged_metric Planted in the cache directory.\n# TYPE forged_metric gauge\nforged_metric 1\n"))
		return hex.EncodeToString(s[:])
	}() + "\n")
