package gate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/snapshot"
)

// BenchmarkLive compares one live generation (gather, counter check,
// encode, LIVESHA, record) with a bare gather and encode of the same
// registry; the ratio is the integrity overhead per payload.
func BenchmarkLive(b *testing.B) {
	dir := b.TempDir()
	s, err := New(Options{Listen: "127.0.0.1:0", CacheDir: cacheDir(b, dir), AuditLog: filepath.Join(dir, "a", "a.jsonl"),
		Tokens: []auth.Token{auth.NewToken("b", "bench-token-0123456789")}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			mfs, _ := s.reg.Gather()
			var buf bytes.Buffer
			enc := expfmt.NewEncoder(&buf, formatFor(snapshot.KindText))
			for _, mf := range mfs {
				enc.Encode(mf)
			}
		}
	})
	b.Run("gate", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.generate(context.Background(), snapshot.KindText); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// cacheDir puts the benchmark's cache on tmpfs when the machine has one, to
// measure the integrity work rather than the file system.
func cacheDir(b *testing.B, fallback string) string {
	if d, err := os.MkdirTemp("/dev/shm", "gate-bench-*"); err == nil {
		b.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return filepath.Join(fallback, "c")
}
