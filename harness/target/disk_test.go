package target

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/gateapi"
)

// TestProcessDiskFills: a process target with a 4 MiB audit filesystem;
// the fill holds it full (a probe as the gate's user gets ENOSPC, the
// host reads no free space) while the gate still answers /metrics; after
// the fill is stopped and unfilled the probe writes again; Stop unmounts
// and removes everything.
func TestProcessDiskFills(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the size-limited filesystem is a tmpfs mount, which needs root")
	}
	o := processOptions(t)
	o.Disks = map[string]int64{DiskAudit: 4 << 20}
	p, err := StartProcess(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	root := p.root
	t.Cleanup(func() { p.Stop(context.Background()) })
	if got := mountsUnder(root); len(got) != 1 || !strings.HasSuffix(got[0], "/audit") {
		t.Fatalf("mounts under %s: %v, want the audit directory", root, got)
	}
	ctx := t.Context()
	if err := p.ProbeDisk(ctx, DiskAudit); err != nil {
		t.Fatalf("probe before the fill: %v", err)
	}
	b, err := p.FillDisk(ctx, DiskAudit, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ProbeDisk(ctx, DiskAudit); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("probe while filled: %v, want ErrNoSpace", err)
	}
	if free, size, err := p.DiskFree(DiskAudit); err != nil || free != 0 || size != 4<<20 {
		t.Fatalf("free %d of %d (%v): want 0 of 4 MiB", free, size, err)
	}
	api := gateapi.New(p.BaseURL(), "process-test-token-000001", "process-test-admin-token-01")
	if _, _, err := api.Payload(ctx, "/metrics"); err != nil {
		t.Fatalf("/metrics with a full audit disk: %v", err)
	}
	if err := p.ProbeDisk(ctx, DiskCache); err != nil {
		t.Fatalf("the cache directory is not on the full filesystem: %v", err)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.UnfillDisk(ctx, DiskAudit); err != nil {
		t.Fatal(err)
	}
	if err := p.ProbeDisk(ctx, DiskAudit); err != nil {
		t.Fatalf("probe after the unfill: %v", err)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := mountsUnder(root); len(got) > 0 {
		t.Fatalf("left mounted after Stop: %v", got)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("root %s after Stop: %v", root, err)
	}
}

// TestUnmountLeftovers: a target whose run is gone keeps its filesystem
// mounted until cleanup unmounts it; one whose run goes on is left.
func TestUnmountLeftovers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the size-limited filesystem is a tmpfs mount, which needs root")
	}
	mk := func(owner string) string {
		root, _, _, err := dirs(map[string]int64{DiskCache: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeRoot(root) })
		os.WriteFile(filepath.Join(root, ownerFile), []byte(owner), 0o644)
		return root
	}
	gone, ours := mk("999999999:0@"+hostname(t)), mk(Owner())
	cleared, running, err := UnmountLeftovers()
	if err != nil {
		t.Fatal(err)
	}
	if cleared < 1 || running < 1 {
		t.Fatalf("cleared %d, running %d: want at least one of each", cleared, running)
	}
	if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) || len(mountsUnder(gone)) > 0 {
		t.Fatalf("the dead run's target %s: %v, mounts %v", gone, err, mountsUnder(gone))
	}
	if len(mountsUnder(ours)) != 1 {
		t.Fatalf("the running run's target lost its mount: %v", mountsUnder(ours))
	}
}

func hostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
