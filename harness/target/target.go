// Package target starts the gate for a GameDay: as a container built
// locally from fixtures/ (testcontainers-go, no registry, no Ryuk) or as a
// child process. Both give the harness a base URL, the host path of the
// gate's cache directory, a way to burn CPU in the gate's CPU domain and
// the gate's own CPU usage.
package target

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Label marks every container and image the harness creates, so that
// `gameday cleanup` finds leftovers after a crash.
const Label = "org.quannex.gameday"

// NobodyUID is the unprivileged user the gate runs as when the harness is
// root, so that permission faults bite.
const NobodyUID = 65534

// Options configure a target.
type Options struct {
	GateBin     string // static gate binary
	StressorBin string // static stressor binary
	Env         map[string]string
	CPUs        float64 // container CPU limit; 0: none
	LogFile     string  // where the gate's output goes
}

// Burn is a running CPU stressor.
type Burn interface {
	// Stop ends it early; it also ends by itself at its deadline.
	Stop() error
}

// ErrWriteDenied is returned by ProbeWrite when the filesystem refused the
// write (EACCES, EPERM, EROFS).
var ErrWriteDenied = errors.New("write refused")

// startGrace is how long a stressor or probe has to fail at once before
// its start counts as a success.
const startGrace = time.Second

// hostCores is the CPU the host gives a target without a limit.
func hostCores() float64 { return float64(runtime.NumCPU()) }

// probeExit turns the stressor's --probe-write exit code into an error.
func probeExit(code int, out string) error {
	switch code {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w: %s", ErrWriteDenied, strings.TrimSpace(out))
	default:
		return fmt.Errorf("write probe exited %d: %s", code, strings.TrimSpace(out))
	}
}

// dirs creates the cache and audit directories under a fresh temporary
// directory, owned by the user the gate runs as.
func dirs() (root, cache, audit string, err error) {
	root, err = os.MkdirTemp("", "gameday-target-*")
	if err != nil {
		return "", "", "", fmt.Errorf("target dirs: %w", err)
	}
	os.Chmod(root, 0o755)
	cache, audit = filepath.Join(root, "cache"), filepath.Join(root, "audit")
	for _, d := range []string{cache, audit} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", "", fmt.Errorf("target dirs: %w", err)
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(d, NobodyUID, NobodyUID); err != nil {
				return "", "", "", fmt.Errorf("target dirs: %w", err)
			}
		}
	}
	return root, cache, audit, nil
}

// cpuSample is a cumulative CPU time at an instant.
type cpuSample struct {
	at  time.Time
	cpu time.Duration
}

// cores returns the cores used between two samples.
func cores(a, b cpuSample) float64 {
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return 0
	}
	return float64(b.cpu-a.cpu) / float64(wall)
}
