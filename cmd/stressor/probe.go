package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// probeWrite creates, syncs and removes a file in dir and returns the exit
// code: 0 written, 1 refused by the filesystem, 3 any other error.
func probeWrite(dir string) int {
	f, err := os.CreateTemp(dir, ".gameday-probe-*")
	if err == nil {
		_, err = f.Write([]byte("probe\n"))
		if err == nil {
			err = f.Sync()
		}
		f.Close()
		os.Remove(f.Name())
	}
	switch {
	case err == nil:
		fmt.Println("stressor: probe-write: written")
		return 0
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EROFS):
		fmt.Println("stressor: probe-write: refused:", err)
		return 1
	default:
		fmt.Println("stressor: probe-write:", err)
		return 3
	}
}
