package fault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// diskFull fills the filesystem under the gate's cache directory or its
// audit log (params.path) to ENOSPC: the target mounts a size-limited
// tmpfs there (params.size) when the scenario starts, and the stressor,
// as the gate's user, writes into it until nothing is left and keeps it
// full (space the gate frees is taken back) for the fault's duration. The
// revert stops the stressor and removes its file; a harness that dies
// leaves a stressor that removes it at its own deadline.
//
// It proves itself: a write as the gate's user into the directory fails
// with ENOSPC while injected and succeeds after the revert, and the
// filesystem, read on the host, had no byte free while injected.
//
// On the audit log it also calls the admin API while injected (e2e
// passes: back to back until the gate refuses one, then every few
// seconds): each call is an audit entry the gate must make durable before
// it acknowledges the call, so the log has something to fail on, and the
// calls the gate acknowledged must be in the log afterwards.
type diskFull struct {
	path string // target.DiskCache or target.DiskAudit
	size int64

	mu        sync.Mutex
	probed    bool  // the probe while injected ran
	duringErr error // its answer
	afterErr  error // the probe after the revert; errNotProbed before
	free      int64 // bytes free while injected, read on the host (-1: unread)
	total     int64
	calls     reports.AdminCalls
}

var errNotProbed = errors.New("not probed")

// DiskFiller is a host whose gate directories the harness can fill: the
// process and container targets, with the filesystem the scenario's
// disk-full fault asked for mounted.
type DiskFiller interface {
	DiskSize(which string) int64
	DiskFree(which string) (free, size int64, err error)
	FillDisk(ctx context.Context, which string, d time.Duration) (target.Burn, error)
	UnfillDisk(ctx context.Context, which string) error
	ProbeDisk(ctx context.Context, which string) error
}

// DiskSizer is implemented by the disk-full fault: the size-limited
// filesystem its target must mount, and where.
type DiskSizer interface {
	Disk() (which string, size int64)
}

func newDiskFull(params map[string]string) (Fault, error) {
	if err := checkParams("disk-full", params, "path", "size"); err != nil {
		return nil, err
	}
	f := &diskFull{path: target.DiskCache, size: 16 << 20, afterErr: errNotProbed, free: -1}
	if v, ok := params["path"]; ok {
		if v != target.DiskCache && v != target.DiskAudit {
			return nil, &ParamError{Fault: "disk-full", Param: "path", Problem: fmt.Sprintf("%q: want cache (the gate's cache directory) or audit (its audit log's directory)", v)}
		}
		f.path = v
	}
	if v, ok := params["size"]; ok {
		n, err := scenario.ParseSize(v)
		if err != nil || n < 1<<20 || n > 1<<30 {
			return nil, &ParamError{Fault: "disk-full", Param: "size", Problem: fmt.Sprintf("%q: want the filesystem's size from 1MiB to 1GiB, such as 16MiB", v)}
		}
		f.size = n
	}
	return f, nil
}

func (f *diskFull) Name() string { return "disk-full" }

// Needs: a filesystem of the gate's the harness mounts and fills.
func (f *diskFull) Needs() string {
	return "a size-limited filesystem on the gate's cache or audit directory, which the harness mounts"
}

// RootOnly: the target mounts the filesystem the fault fills.
func (f *diskFull) RootOnly() string {
	return "fills a size-limited filesystem the harness mounts (tmpfs)"
}

// Disk is the filesystem the target must mount for the fault.
func (f *diskFull) Disk() (string, int64) { return f.path, f.size }

// adminEvery is how often the audit variant calls the admin API while
// injected (each call waits for its audit entry up to the gate's bound).
const adminEvery = 5 * time.Second

func (f *diskFull) Inject(ctx context.Context, t Host, env Env) (func(context.Context) error, error) {
	d, ok := t.(DiskFiller)
	if !ok || d.DiskSize(f.path) <= 0 {
		return nil, fmt.Errorf("disk-full: the target mounted no size-limited filesystem on the gate's %s directory", f.path)
	}
	b, err := d.FillDisk(ctx, f.path, env.Duration)
	if err != nil {
		return nil, fmt.Errorf("disk-full: %w", err)
	}
	perr := d.ProbeDisk(ctx, f.path)
	free, total, ferr := d.DiskFree(f.path)
	f.mu.Lock()
	f.probed, f.duringErr = true, perr
	if ferr == nil {
		f.free, f.total = free, total
	}
	f.mu.Unlock()
	calls, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { // the audit variant's admin calls, until the revert
		defer close(done)
		if f.path == target.DiskAudit {
			f.callAdmin(calls, env.Gate)
		}
	}()
	return func(ctx context.Context) error {
		stop()
		<-done
		errs := []error{b.Stop(), d.UnfillDisk(ctx, f.path)}
		after := d.ProbeDisk(ctx, f.path)
		f.mu.Lock()
		f.afterErr = after
		f.mu.Unlock()
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("disk-full revert: %w", err)
		}
		return nil
	}, nil
}

// callAdmin calls the admin API (an e2e pass, an audited call) back to
// back until the gate refuses one, at most adminCallsMax times: the log's
// last page may have room for a few entries, a full disk or not. Then it
// calls every adminEvery until ctx ends. It counts what the gate
// answered: acknowledged (with the audit entry it names) or refused.
func (f *diskFull) callAdmin(ctx context.Context, gate *gateapi.Client) {
	if gate == nil || !gate.HasAdmin() {
		return
	}
	for i := 0; i < adminCallsMax && ctx.Err() == nil; i++ {
		if f.callOnce(ctx, gate) {
			break
		}
	}
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-time.After(adminEvery):
		}
		f.callOnce(ctx, gate)
	}
}

// adminCallsMax bounds the calls before the first refusal: a few hundred
// entries are more than a page of the log.
const adminCallsMax = 200

// callOnce makes one admin call and records it; it reports whether the
// gate refused it.
func (f *diskFull) callOnce(ctx context.Context, gate *gateapi.Client) (refused bool) {
	r, err := gate.Do(ctx, http.MethodPost, "/e2e/pass", gateapi.AdminTok, "", nil)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case ctx.Err() != nil: // cut short by the revert: neither
		return false
	case err == nil && r.Code == http.StatusOK:
		f.calls.Made++
		f.calls.Acknowledged = append(f.calls.Acknowledged, r.Header.Get("X-Audit-Entry"))
		return false
	}
	f.calls.Made++
	f.calls.Refused++
	return true
}

// AdminCalls are the admin calls the audit variant made while injected.
func (f *diskFull) AdminCalls() *reports.AdminCalls {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.path != target.DiskAudit {
		return nil
	}
	c := f.calls
	c.Acknowledged = append([]string(nil), f.calls.Acknowledged...)
	return &c
}

// Proof is the two probes and the host's count of free bytes.
func (f *diskFull) Proof() *reports.Proof {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &reports.Proof{Unit: "errno of a write as the gate's user", Requested: 1}
	if !f.probed {
		p.Detail = "not probed while injected"
		return p
	}
	p.Samples = 1
	full := errors.Is(f.duringErr, target.ErrNoSpace)
	if full {
		p.Achieved = 1
	}
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	var parts []string
	switch {
	case full:
		parts = append(parts, "a write into the gate's "+f.path+" directory as its user failed with ENOSPC while injected")
	case f.duringErr == nil:
		parts = append(parts, "a write into the gate's "+f.path+" directory as its user succeeded while injected")
	default:
		parts = append(parts, "the write probe while injected failed otherwise: "+f.duringErr.Error())
	}
	if f.free >= 0 {
		parts = append(parts, fmt.Sprintf("%s of %s free", mib(f.free), mib(f.total)))
	} else {
		parts = append(parts, "free space unread")
	}
	after := f.afterErr == nil
	switch {
	case after:
		parts = append(parts, "written after the revert")
	case errors.Is(f.afterErr, errNotProbed):
		parts = append(parts, "not probed after the revert")
	default:
		parts = append(parts, "still failing after the revert: "+f.afterErr.Error())
	}
	p.OK = full && f.free == 0 && after
	p.Detail = strings.Join(parts, "; ")
	return p
}
