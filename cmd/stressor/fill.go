package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// fillPrefix names the files --fill writes, so that --unfill removes them
// and nothing else.
const fillPrefix = ".gameday-fill-"

// topUpEvery is how often a held fill writes again: space the gate frees
// (a truncated file, a replaced one) is taken back, so the filesystem
// stays full for the whole fault.
const topUpEvery = 100 * time.Millisecond

// fill writes a file into dir until its filesystem answers ENOSPC, keeps
// it full until d passes or a signal comes, then removes the file. It
// refuses a filesystem larger than maxBytes: the fault is meant for the
// small filesystem the target mounts, never for the host's disk. It
// returns the exit code: 0 done, 2 refused, 3 on any error other than
// ENOSPC.
func fill(dir string, d time.Duration, maxBytes int64) int {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		fmt.Fprintln(os.Stderr, "stressor: fill:", err)
		return 3
	}
	if size := int64(st.Blocks) * st.Bsize; size > maxBytes {
		fmt.Fprintf(os.Stderr, "stressor: fill: %s is on a filesystem of %d bytes, over --fill-max %d: refused\n", dir, size, maxBytes)
		return 2
	}
	f, err := os.CreateTemp(dir, fillPrefix+"*")
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		fmt.Fprintln(os.Stderr, "stressor: fill:", err)
		return 3
	}
	if f == nil { // not even an inode left: full already
		fmt.Println("stressor: fill: full already (no file could be created)")
		return holdFull(nil, d)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := topUp(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stressor: fill:", err)
		return 3
	}
	fmt.Printf("stressor: fill: wrote %d bytes into %s: no space left\n", n, f.Name())
	return holdFull(f, d)
}

// holdFull writes into f again every topUpEvery until d passes or a
// signal comes.
func holdFull(f *os.File, d time.Duration) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	end := time.After(d)
	tick := time.NewTicker(topUpEvery)
	defer tick.Stop()
	for {
		select {
		case <-end:
			return 0
		case <-sig:
			return 0
		case <-tick.C:
			if f != nil {
				if _, err := topUp(f); err != nil {
					fmt.Fprintln(os.Stderr, "stressor: fill:", err)
					return 3
				}
			}
		}
	}
}

// topUp appends to f, in shrinking chunks, until the filesystem answers
// ENOSPC for a single byte, and syncs it: what it wrote is allocated.
func topUp(f *os.File) (int64, error) {
	var total int64
	buf := make([]byte, 1<<20)
	for chunk := len(buf); chunk >= 1; {
		n, err := f.Write(buf[:chunk])
		total += int64(n)
		switch {
		case err == nil:
		case errors.Is(err, syscall.ENOSPC):
			chunk /= 2
		default:
			return total, err
		}
	}
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		return total, err
	}
	return total, nil
}

// unfill removes every file --fill left in dir (one SIGKILLed before it
// could remove its own) and returns the exit code: 0 done, 3 on an error.
func unfill(dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stressor: unfill:", err)
		return 3
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), fillPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				fmt.Fprintln(os.Stderr, "stressor: unfill:", err)
				return 3
			}
			n++
		}
	}
	fmt.Printf("stressor: unfill: removed %d fill file(s)\n", n)
	return 0
}
