package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// smallFS mounts a 1 MiB tmpfs, open to nobody, for the test's life.
func smallFS(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir, err := os.MkdirTemp("", "fill-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0777"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH); os.Remove(dir) })
	return dir
}

// TestFillHoldsThenFrees: while --fill holds, a write as nobody gets
// ENOSPC (probe exit 4) even after space is freed behind its back; at its
// deadline it removes its file and the write succeeds.
func TestFillHoldsThenFrees(t *testing.T) {
	dir := smallFS(t)
	victim := filepath.Join(dir, "slot")
	if err := os.WriteFile(victim, make([]byte, 64<<10), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(victim, 0o666)
	done := make(chan int, 1)
	go func() { done <- fill(dir, 2*time.Second, 1<<30) }()
	waitFull := time.Now().Add(time.Second)
	for asNobody(t, func() int { return probeWrite(dir) }) != 4 {
		if time.Now().After(waitFull) {
			t.Fatal("the probe never saw ENOSPC while the fill held")
		}
		time.Sleep(20 * time.Millisecond)
	}
	os.Remove(victim) // 64 KiB freed: the fill takes it back
	time.Sleep(3 * topUpEvery)
	if code := asNobody(t, func() int { return probeWrite(dir) }); code != 4 {
		t.Fatalf("after space was freed under the fill: probe exit %d, want 4 (full)", code)
	}
	if code := <-done; code != 0 {
		t.Fatalf("fill exited %d", code)
	}
	if code := asNobody(t, func() int { return probeWrite(dir) }); code != 0 {
		t.Fatalf("after the fill ended: probe exit %d, want 0", code)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, fillPrefix+"*")); len(left) > 0 {
		t.Fatalf("fill left %v", left)
	}
}

// TestFillRefusesLargeFilesystem: a filesystem over --fill-max is never
// filled.
func TestFillRefusesLargeFilesystem(t *testing.T) {
	dir := t.TempDir()
	if code := fill(dir, time.Second, 1<<20); code != 2 {
		t.Fatalf("fill of %s with a 1 MiB limit: exit %d, want 2 (refused)", dir, code)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
		t.Fatalf("refused fill wrote %v", left)
	}
}

// TestUnfill removes the fill files and only them.
func TestUnfill(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{fillPrefix + "1", fillPrefix + "2", "slot"} {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600)
	}
	if code := unfill(dir); code != 0 {
		t.Fatalf("unfill exit %d", code)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 || !strings.HasPrefix(left[0].Name(), "slot") {
		t.Fatalf("left %v, want only slot", left)
	}
}
