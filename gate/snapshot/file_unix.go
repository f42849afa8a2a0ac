//go:build unix

package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openFile opens path for flag without following a symbolic link
// (O_NOFOLLOW) and without blocking on a named pipe (O_NONBLOCK: a FIFO
// planted in a slot would otherwise hang the open until someone writes to
// it), then checks that what it opened is a regular file, owned by the
// gate's effective user, with one link (a hard link could be another file
// of the gate's, such as its audit log). The check is made on the open
// file, not on the path, so nothing can be swapped in between. Anything
// else is an *unsafeError, and the file is closed.
func openFile(path string, flag int, perm fs.FileMode) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		// ELOOP (a symlink), ENXIO (a FIFO or socket without a reader),
		// EISDIR, or EACCES on someone else's file: say what is there.
		if fi, lerr := os.Lstat(path); lerr == nil {
			if d := unsafeDetail(fi); d != "" {
				return nil, nil, &unsafeError{detail: d}
			}
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if d := unsafeDetail(fi); d != "" {
		f.Close()
		return nil, nil, &unsafeError{detail: d}
	}
	return f, fi, nil
}

// unsafeDetail says why fi is not a file the gate may read or write, or
// returns "".
func unsafeDetail(fi fs.FileInfo) string {
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
	if !ok {
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
