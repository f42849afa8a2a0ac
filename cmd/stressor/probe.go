package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// probeWrite tries the two ways a program writes into dir: creating a new
// file (create, write, sync, remove) and opening an existing one for
// writing (opened and closed, nothing written). It returns the exit code:
// 0 when every way succeeded, 1 when the filesystem refused at least one
// of them (EACCES, EPERM, EROFS) — a read-only cache refuses both —, 4
// when it had no space left (ENOSPC: a full disk refuses the new file's
// data) and 3 on any other error.
func probeWrite(dir string) int {
	refused, full, other := []string{}, []string{}, []string{}
	note := func(what string, err error) {
		switch {
		case err == nil:
		case errors.Is(err, syscall.ENOSPC):
			full = append(full, what+": "+err.Error())
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EROFS):
			refused = append(refused, what+": "+err.Error())
		default:
			other = append(other, what+": "+err.Error())
		}
	}
	f, err := os.CreateTemp(dir, ".gameday-probe-*")
	if err == nil {
		_, err = f.Write([]byte("probe\n"))
		if err == nil {
			err = f.Sync()
		}
		f.Close()
		os.Remove(f.Name())
	}
	note("create", err)
	entries, err := os.ReadDir(dir)
	note("list", err)
	opened := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), fillPrefix) {
			continue // the disk-full fault's own file is not the gate's
		}
		g, err := os.OpenFile(filepath.Join(dir, e.Name()), os.O_WRONLY, 0)
		if err == nil {
			g.Close()
			opened++
		}
		note("open "+e.Name(), err)
	}
	switch {
	case len(other) > 0:
		fmt.Println("stressor: probe-write:", other)
		return 3
	case len(refused) > 0:
		fmt.Println("stressor: probe-write: refused:", refused)
		return 1
	case len(full) > 0:
		fmt.Println("stressor: probe-write: no space:", full)
		return 4
	}
	fmt.Printf("stressor: probe-write: written (a new file, and %d existing files opened for writing)\n", opened)
	return 0
}
