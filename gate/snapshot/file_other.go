//go:build !unix

package snapshot

import (
	"io/fs"
	"os"
)

// openFile opens path and checks that it is a regular file. Without
// O_NOFOLLOW and file owners (non-unix systems) a symbolic link is
// followed; the gate is built and supported for Linux.
func openFile(path string, flag int, perm fs.FileMode) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, flag, perm)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &unsafeError{detail: "not a regular file"}
	}
	return f, fi, nil
}
