package target

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// OwnerLabel is the label naming the run that started a container or a
// network (Owner).
const OwnerLabel = Label + ".owner"

// Owner names this process as the owner of what a killed run would leave
// behind (a container, a network, a permission change): "PID:START@HOST",
// START its start time from /proc (empty where there is none), so that a
// later process given the same pid is not mistaken for it.
func Owner() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%d:%s@%s", os.Getpid(), processStart(os.Getpid()), h)
}

// OwnerAlive reports whether the owner a label or record names still
// runs on this machine: gameday cleanup leaves its things alone, since its
// own revert and stop are running. An empty or unreadable owner (left by
// an older harness) is not alive; one on another host is, as this machine
// cannot tell.
func OwnerAlive(owner string) bool {
	pidStart, host, ok := strings.Cut(owner, "@")
	if !ok {
		return false
	}
	if h, _ := os.Hostname(); host != h {
		return true
	}
	p, start, _ := strings.Cut(pidStart, ":")
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return start == "" || processStart(pid) == start
}

// processStart is a process's start time in clock ticks since boot (the
// 22nd field of /proc/PID/stat); "" where there is no /proc.
func processStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command (field 2) is in parentheses and may hold spaces.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
		if f := strings.Fields(string(b)[i+1:]); len(f) > 19 {
			return f[19]
		}
	}
	return ""
}
