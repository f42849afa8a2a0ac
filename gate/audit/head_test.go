package audit

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// appendN appends n entries to l and returns the last.
func appendN(t *testing.T, l *Log, n int) Entry {
	t.Helper()
	var e Entry
	for i := range n {
		var err error
		if e, err = l.Append(context.Background(), EventAuth, map[string]string{"i": strconv.Itoa(i + 1)}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	return e
}

// TestHeadFileFindsACutTail: the log's last entries are cut off while the
// gate is down. At the next open the head file shows it: the cut is
// damage, a checkpoint records it with a sequence above every one used
// before, and the head file follows the log again. A later verification
// reports the cut as recorded damage, and a later open does not report it
// again.
func TestHeadFileFindsACutTail(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("audit-test-hmac-key-0001")} {
		t.Run("key="+strconv.FormatBool(key != nil), func(t *testing.T) {
			path := writeLog(t, 0, nil)
			head := DefaultHeadFile(path)
			l := Open(path, Options{Key: key, HeadFile: head})
			last := appendN(t, l, 10)
			l.Close(context.Background())
			if h, err := ReadHeadFile(head, key); err != nil || h != (Head{Seq: last.Seq, Hash: last.Hash}) {
				t.Fatalf("head file %+v %v, want the last entry %d", h, err, last.Seq)
			}
			// Without the head file, the cut log verifies.
			all := lines(t, path)
			if err := os.WriteFile(path, join(all[:6]), 0o640); err != nil {
				t.Fatal(err)
			}
			if rep, _ := VerifyFile(path, VerifyOptions{Key: key}); !rep.OK() {
				t.Fatalf("the cut log alone: %+v", rep.Problem)
			}

			l = Open(path, Options{Key: key, HeadFile: head})
			st := l.Status()
			if st.Damage == nil || st.Damage.Kind != DamageTruncated || st.HeadFile == nil || st.HeadFile.AtOpen != HeadFileOK {
				t.Fatalf("at open after the cut: damage %+v, head file %+v", st.Damage, st.HeadFile)
			}
			next, err := l.Append(context.Background(), EventGateStart, nil)
			if err != nil || next.Seq <= last.Seq {
				t.Fatalf("the next entry is %d (%v), want a sequence above %d: numbers are never reused", next.Seq, err, last.Seq)
			}
			l.Close(context.Background())
			if h, _ := ReadHeadFile(head, key); h.Seq != next.Seq {
				t.Fatalf("head file at %d after the checkpoint, want %d", h.Seq, next.Seq)
			}
			rep, err := VerifyFile(path, VerifyOptions{Key: key, ExpectHead: &Head{Seq: next.Seq, Hash: next.Hash}})
			if err != nil || len(rep.Damage) != 1 || rep.Damage[0].Kind != DamageDeleted || rep.Damage[0].RecordedBy == 0 {
				t.Fatalf("verify after the checkpoint: %v %+v", err, rep.Damage)
			}
			l = Open(path, Options{Key: key, HeadFile: head})
			if st := l.Status(); st.Damage != nil || st.KnownDamage != 1 {
				t.Fatalf("the next open: damage %+v known %d; want the cut known, not new", st.Damage, st.KnownDamage)
			}
			l.Close(context.Background())
		})
	}
}

// TestHeadFileStates: a head file that does not verify (edited, or plain
// SHA-256 beside an HMAC chain) is not trusted, and says why; an absent one
// beside a log with entries is told apart from a first start.
func TestHeadFileStates(t *testing.T) {
	key := []byte("audit-test-hmac-key-0002")
	path := writeLog(t, 0, nil)
	head := DefaultHeadFile(path)
	if l := Open(path, Options{Key: key, HeadFile: head}); l.Status().HeadFile.AtOpen != HeadFileNew {
		t.Fatalf("first start: %+v", l.Status().HeadFile)
	} else {
		appendN(t, l, 3)
		l.Close(context.Background())
	}
	b, _ := os.ReadFile(head)
	for name, c := range map[string]struct {
		content string
		want    string
		detail  string
	}{
		"edited seq":  {strings.Replace(string(b), `"seq":3`, `"seq":2`, 1), HeadFileUntrusted, "MAC does not verify"},
		"plain sha":   {"", HeadFileUntrusted, "plain SHA-256"},
		"not json":    {"seq 3\n", HeadFileUntrusted, "not a head record"},
		"absent":      {"-", HeadFileAbsent, "absent while the log holds entries"},
		"intact":      {string(b), HeadFileOK, ""},
		"pipe, never": {"fifo", HeadFileUntrusted, "named pipe"},
	} {
		t.Run(name, func(t *testing.T) {
			os.Remove(head)
			switch c.content {
			case "": // what a gate without the key writes
				if err := writeHeadFile(head, Head{Seq: 3, Hash: Genesis}, nil, (*os.File).Sync); err != nil {
					t.Fatal(err)
				}
			case "-":
			case "fifo":
				if err := syscall.Mkfifo(head, 0o640); err != nil {
					t.Fatal(err)
				}
			default:
				os.WriteFile(head, []byte(c.content), 0o640)
			}
			l := Open(path, Options{Key: key, HeadFile: head})
			hf := l.Status().HeadFile
			l.Close(context.Background())
			if hf.AtOpen != c.want || !strings.Contains(hf.Detail, c.detail) {
				t.Fatalf("head file %+v, want %s with %q", hf, c.want, c.detail)
			}
			os.Remove(head)
			os.WriteFile(head, b, 0o640)
		})
	}
	if _, err := ReadHeadFile(head+".missing", key); !errors.Is(err, ErrNoHeadFile) {
		t.Fatalf("missing: %v", err)
	}
}
