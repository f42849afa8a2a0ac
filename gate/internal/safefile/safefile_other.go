//go:build !unix

package safefile

import (
	"io/fs"
	"os"
)

// Open opens path and checks that it is a regular file. Without
// O_NOFOLLOW and file owners (non-unix systems) a symbolic link is
// followed; the gate is built and supported for Linux.
func Open(path string, flag int, perm fs.FileMode) (*os.File, fs.FileInfo, error) {
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
		return nil, nil, &UnsafeError{Detail: "not a regular file"}
	}
	return f, fi, nil
}

// OpenRegular is Open for reading.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) { return Open(path, os.O_RDONLY, 0) }

// UnsafeError says what Open found instead of a regular file.
type UnsafeError struct{ Detail string }

func (e *UnsafeError) Error() string { return e.Detail }
