package target

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ErrNotOurs is returned for what a gate the harness did not start cannot
// give: its cache directory, its CPU domain, a stressor beside it. Faults
// that need them are refused when the scenario loads; the error is the
// backstop.
var ErrNotOurs = errors.New("not available on a gate the harness did not start")

// ErrCPUUnavailable is returned by a Remote's CPU methods: the harness
// cannot see the CPU of another host's gate, and reports no figure rather
// than a made-up one.
var ErrCPUUnavailable = errors.New("the gate's CPU is unavailable: the harness did not start it")

// Remote is a gate the harness did not start (a staging deployment),
// reached at its base URL. It knows nothing of the gate's host, so only
// faults through the gate's admin API can hit it, and Stop leaves it
// running.
type Remote struct {
	url string
}

// NewRemote checks baseURL (http or https, with a host, no query) and
// returns the target. It does not contact the gate.
func NewRemote(baseURL string) (*Remote, error) {
	u, err := ParseRemoteURL(baseURL)
	if err != nil {
		return nil, err
	}
	return &Remote{url: u}, nil
}

// ParseRemoteURL validates a gate's base URL and returns it without a
// trailing slash.
func ParseRemoteURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL such as https://gate.staging:3000") // url's error would repeat a password in it
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q: want an http:// or https:// URL", shown)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%q: no host", shown)
	case u.User != nil:
		return "", fmt.Errorf("%q: credentials in the URL are not accepted (use the token files)", shown)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%q: a base URL has no query or fragment", shown)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Kind is "url".
func (r *Remote) Kind() string { return "url" }

// BaseURL is the gate's URL.
func (r *Remote) BaseURL() string { return r.url }

// CacheDir is empty: the gate's filesystem is not the harness's.
func (r *Remote) CacheDir() string { return "" }

// Describe gives no image, process or CPU limit: the harness knows none.
func (r *Remote) Describe() (image, imageID, id string, cpus float64) { return "", "", "", 0 }

// Burn fails: there is no stressor beside a gate the harness did not start.
func (r *Remote) Burn(context.Context, int, time.Duration) (Burn, error) {
	return nil, fmt.Errorf("burn CPU: %w", ErrNotOurs)
}

// ProbeWrite fails (not with ErrWriteDenied: nothing was probed).
func (r *Remote) ProbeWrite(context.Context) error {
	return fmt.Errorf("write probe: %w", ErrNotOurs)
}

// AvailableCores is 0: unknown.
func (r *Remote) AvailableCores() float64 { return 0 }

// CPUCores returns ErrCPUUnavailable.
func (r *Remote) CPUCores(context.Context) (float64, error) { return 0, ErrCPUUnavailable }

// CPUTime returns ErrCPUUnavailable.
func (r *Remote) CPUTime(context.Context) (time.Time, time.Duration, error) {
	return time.Time{}, 0, ErrCPUUnavailable
}

// TLSConfig is nil: an https:// gate is verified against the system's
// roots, as any client of it would.
func (r *Remote) TLSConfig() *tls.Config { return nil }

// Stop does nothing: the gate is not the harness's to stop.
func (r *Remote) Stop(context.Context) error { return nil }
