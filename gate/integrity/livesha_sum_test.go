package integrity

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

// AppendLiveSHASum's one pass gives the same line as two, and its sum is
// the SHA-256 of the body it returns.
func TestAppendLiveSHASumIsOnePassOfTwo(t *testing.T) {
	for _, payload := range []string{"", "a 1\n", strings.Repeat("quannex_x{a=\"b\"} 1\n", 2000)} {
		two := sha256.Sum256([]byte(payload))
		out, sum := AppendLiveSHASum([]byte(payload))
		if err := VerifyLiveSHA(out); err != nil {
			t.Fatalf("%d bytes: %v", len(payload), err)
		}
		if !bytes.HasSuffix(out, []byte(LiveSHAPrefix+hexOf(two)+"\n")) || !bytes.HasPrefix(out, []byte(payload)) {
			t.Fatalf("%d bytes: LIVESHA line differs from a separate pass", len(payload))
		}
		if sum != sha256.Sum256(out) {
			t.Fatalf("%d bytes: sum is not the SHA-256 of the body", len(payload))
		}
		if !bytes.Equal(AppendLiveSHA([]byte(payload)), out) {
			t.Fatalf("%d bytes: AppendLiveSHA differs", len(payload))
		}
	}
}

func hexOf(b [sha256.Size]byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

func BenchmarkAppendLiveSHA(b *testing.B) {
	payload := []byte(strings.Repeat("quannex_metrics_requests_total{source=\"live\",code=\"200\"} 12345\n", 600))
	b.SetBytes(int64(len(payload)))
	b.Run("two passes", func(b *testing.B) {
		for b.Loop() {
			out := AppendLiveSHA(payload[:len(payload):len(payload)])
			_ = sha256.Sum256(out)
		}
	})
	b.Run("one pass", func(b *testing.B) {
		for b.Loop() {
			AppendLiveSHASum(payload[:len(payload):len(payload)])
		}
	})
}
