//go:build unix

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenRefusesWhatWasPlanted: Open returns a regular file of the
// process's own with one name, and an *UnsafeError saying what is there
// otherwise, without following a symlink or waiting on a FIFO;
// OpenRegular takes a regular file of any owner.
func TestOpenRefusesWhatWasPlanted(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	mk := map[string]func(p string) error{
		"symbolic link": func(p string) error { return os.Symlink(file, p) },
		"named pipe":    func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"directory":     func(p string) error { return os.Mkdir(p, 0o700) },
		"hard-linked": func(p string) error {
			other := p + ".other"
			if err := os.WriteFile(other, nil, 0o600); err != nil {
				return err
			}
			return os.Link(other, p)
		},
	}
	if os.Geteuid() == 0 {
		mk["owned by uid 65534"] = func(p string) error {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				return err
			}
			return os.Chown(p, 65534, 65534)
		}
	}
	for want, create := range mk {
		p := filepath.Join(dir, strings.ReplaceAll(want, " ", "-"))
		if err := create(p); err != nil {
			t.Fatal(err)
		}
		for _, flag := range []int{os.O_RDONLY, os.O_WRONLY | os.O_CREATE} {
			done := make(chan error, 1)
			go func() { _, _, err := Open(p, flag, 0o600); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: Open blocked", want)
			}
			var ue *UnsafeError
			if !errors.As(err, &ue) || !strings.Contains(ue.Detail, want) {
				t.Errorf("%s, flag %#x: %v", want, flag, err)
			}
		}
	}
	if f, _, err := Open(file, os.O_RDONLY, 0); err != nil {
		t.Fatalf("a file of our own: %v", err)
	} else {
		f.Close()
	}
	if os.Geteuid() == 0 {
		if f, _, err := OpenRegular(filepath.Join(dir, "owned-by-uid-65534")); err != nil {
			t.Fatalf("OpenRegular, another user's file: %v", err)
		} else {
			f.Close()
		}
	}
}
