//go:build unix

// Package safefile opens files in directories that others may write (the
// gate's cache directory, and its audit directory) without being led
// astray by what was planted there: no symbolic link is followed, no named
// pipe blocks, and only a regular file is returned — by Open, only one of
// the process's own user with a single name.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Open opens path for flag without following a symbolic link
// (O_NOFOLLOW) and without blocking on a named pipe (O_NONBLOCK: a FIFO
// planted in a slot would otherwise hang the open until someone writes to
// it), then checks that what it opened is a regular file, owned by the
// gate's effective user, with one link (a hard link could be another file
// of the gate's, such as its audit log). The check is made on the open
// file, not on the path, so nothing can be swapped in between. Anything
// else is an *UnsafeError, and the file is closed.
func Open(path string, flag int, perm fs.FileMode) (*os.File, fs.FileInfo, error) {
	return open(path, flag, perm, true)
}

// OpenRegular opens path for reading as Open does, but takes a regular
// file of any owner: for a tool (gate audit verify) that may run as
// another user than the gate and trusts what it reads by its MAC.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) {
	return open(path, os.O_RDONLY, 0, false)
}

func open(path string, flag int, perm fs.FileMode, own bool) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		// ELOOP (a symlink), ENXIO (a FIFO or socket without a reader),
		// EISDIR, or EACCES on someone else's file: say what is there.
		if fi, lerr := os.Lstat(path); lerr == nil {
			if d := unsafeDetail(fi, own); d != "" {
				return nil, nil, &UnsafeError{Detail: d}
			}
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if d := unsafeDetail(fi, own); d != "" {
		f.Close()
		return nil, nil, &UnsafeError{Detail: d}
	}
	return f, fi, nil
}

// UnsafeError says what Open found instead of a regular file of the
// process's own.
type UnsafeError struct{ Detail string }

func (e *UnsafeError) Error() string { return e.Detail }

// unsafeDetail says why fi is not a file the gate may read or write, or
// returns ""; own also requires the process's user and a single link.
func unsafeDetail(fi fs.FileInfo, own bool) string {
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link (never followed)"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case !m.IsRegular():
		return "not a regular file"
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !own {
		return ""
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Sprintf("owned by uid %d, not the gate's user (uid %d)", st.Uid, euid)
	}
	if st.Nlink > 1 {
		return fmt.Sprintf("hard-linked (%d names): it may be another file", st.Nlink)
	}
	return ""
}
