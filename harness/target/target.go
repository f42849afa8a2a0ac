// Package target starts the gate for a GameDay: as a container built
// locally from fixtures/ (testcontainers-go, no registry, no Ryuk), as a
// fleet of such containers on one private network, or as a child process.
// Each gate gives the harness a base URL, the host path of the gate's
// cache directory, a way to burn CPU in the gate's CPU domain and the
// gate's own CPU usage.
package target

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/certs"
)

// Label marks every container, network and image the harness creates, so
// that `gameday cleanup` finds leftovers after a crash.
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
	Memory      int64   // container memory limit in bytes (no swap beyond it); 0: none
	LogFile     string  // where the gate's output goes
	// Disks mounts a size-limited filesystem (bytes) on the gate's cache
	// or audit directory (DiskCache, DiskAudit), for the disk-full fault
	// to fill; it needs root.
	Disks map[string]int64
	// TLS serves the gate over HTTPS with client certificates required,
	// from a throwaway CA written into the target's directory (see
	// package certs); TLSConfig gives the harness's side.
	TLS bool
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
	case 4:
		return fmt.Errorf("%w: %s", ErrNoSpace, strings.TrimSpace(out))
	default:
		return fmt.Errorf("write probe exited %d: %s", code, strings.TrimSpace(out))
	}
}

// dirs creates the cache and audit directories under a fresh temporary
// directory, owned by the user the gate runs as, with the size-limited
// filesystems disks asks for mounted on them.
func dirs(disks map[string]int64) (root, cache, audit string, err error) {
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
	if err := mountDisks(root, map[string]string{DiskCache: cache, DiskAudit: audit}, disks); err != nil {
		removeRoot(root)
		return "", "", "", err
	}
	return root, cache, audit, nil
}

// writeTLS writes the run's throwaway TLS material into root/tls for the
// gate's user to read and returns it with the harness's client config.
// When the harness is root the files go to nobody, as the gate runs as
// nobody; otherwise a container's user (65534) can read them only if they
// are world-readable, which a throwaway key in the run's own directory,
// removed at Stop, may be.
func writeTLS(root string, hosts []string, container bool) (certs.Files, *tls.Config, error) {
	f, err := certs.Write(filepath.Join(root, "tls"), hosts)
	if err != nil {
		return f, nil, err
	}
	for _, p := range append([]string{f.Dir}, paths(f)...) {
		switch {
		case os.Geteuid() == 0:
			err = os.Chown(p, NobodyUID, NobodyUID)
		case container && p == f.Dir:
			err = os.Chmod(p, 0o755)
		case container:
			err = os.Chmod(p, 0o644)
		}
		if err != nil {
			return f, nil, fmt.Errorf("target tls: %w", err)
		}
	}
	cfg, err := f.Client()
	if err != nil {
		return f, nil, fmt.Errorf("target tls: %w", err)
	}
	return f, cfg, nil
}

func paths(f certs.Files) []string {
	var out []string
	for _, n := range certs.Names() {
		out = append(out, f.Path(n))
	}
	return out
}

// loopbackHosts are the names a local gate's certificate is valid for.
var loopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

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
