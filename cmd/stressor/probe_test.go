package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// asNobody runs f on one OS thread whose filesystem identity is nobody
// (65534), so that permission bits bite even when the tests run as root.
func asNobody(t *testing.T, f func() int) int {
	t.Helper()
	if os.Geteuid() != 0 {
		return f()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	unix.Setfsgid(65534)
	unix.Setfsuid(65534)
	defer func() { unix.Setfsuid(0); unix.Setfsgid(0) }()
	return f()
}

// TestProbeWrite: a directory that refuses new files, or whose files
// refuse writing, is refused; a writable one is written.
func TestProbeWrite(t *testing.T) {
	dir, err := os.MkdirTemp("", "probe-*") // t.TempDir's parent is closed to nobody
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	slot := filepath.Join(dir, "slot")
	if err := os.WriteFile(slot, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	os.Chmod(slot, 0o666)
	if code := asNobody(t, func() int { return probeWrite(dir) }); code != 0 {
		t.Fatalf("writable directory: exit %d", code)
	}
	if code := probeWrite(filepath.Join(dir, "missing")); code != 3 {
		t.Fatalf("missing directory: exit %d, want 3", code)
	}
	// A read-only file in a writable directory: the gate overwrites its
	// snapshot slots in place, so this must count as refused.
	os.Chmod(slot, 0o444)
	if code := asNobody(t, func() int { return probeWrite(dir) }); code != 1 {
		t.Fatalf("a read-only file in a writable directory: exit %d, want 1", code)
	}
	// A read-only directory with writable files: no new file.
	os.Chmod(slot, 0o666)
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o777)
	if code := asNobody(t, func() int { return probeWrite(dir) }); code != 1 {
		t.Fatalf("a read-only directory: exit %d, want 1", code)
	}
}
