package fault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/quannex/gameday/harness/target"
)

// cacheReadonly makes the gate's cache unwritable at the OS level, as a
// read-only filesystem would: the directory becomes mode 0555 (no file can
// be created or renamed in it) and every file in it 0444 (no file can be
// opened for writing — the gate overwrites its snapshot slots in place).
// The gate, running as an unprivileged user, gets EACCES either way. Every
// mode is recorded in the state directory before it changes, so `gameday
// cleanup` can restore it if the harness dies; revert restores them all.
type cacheReadonly struct{}

func newCacheReadonly(params map[string]string) (Fault, error) {
	if err := checkParams("cache-readonly", params); err != nil {
		return nil, err
	}
	return cacheReadonly{}, nil
}

func (cacheReadonly) Name() string { return "cache-readonly" }

// Needs: it changes modes in the gate's cache directory.
func (cacheReadonly) Needs() string { return "the gate's filesystem" }

// ForcesFallback: the gate cannot record live payloads, so it falls back.
func (cacheReadonly) ForcesFallback() bool { return true }

// Probe writes into the cache directory as the gate's user: the write
// must fail while the fault is active and succeed after its revert.
func (cacheReadonly) Probe(ctx context.Context, t Host, active bool) error {
	err := t.ProbeWrite(ctx)
	switch {
	case active && err == nil:
		return errors.New("cache-readonly: a write into the cache directory as the gate's user succeeded while the fault was active")
	case active && errors.Is(err, target.ErrWriteDenied):
		return nil
	case !active && err != nil:
		return fmt.Errorf("cache-readonly: a write into the cache directory as the gate's user failed after the revert: %w", err)
	case active:
		return fmt.Errorf("cache-readonly: write probe: %w", err)
	}
	return nil
}

func (cacheReadonly) Inject(ctx context.Context, t Host, env Env) (func(context.Context) error, error) {
	dir := t.CacheDir()
	type change struct {
		path, rec string
		mode      fs.FileMode
	}
	var done []change
	locked := map[string]bool{}
	revert := func(context.Context) error {
		var errs []error
		for i := len(done) - 1; i >= 0; i-- {
			c := done[i]
			if err := os.Chmod(c.path, c.mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
			os.Remove(c.rec)
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("cache-readonly revert: %w", err)
		}
		return nil
	}
	// lock records p's mode, then makes it read-only.
	lock := func(p string) error {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		rec, err := recordChmod(p, st.Mode().Perm())
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o444)
		if st.IsDir() {
			mode = 0o555
		}
		if err := os.Chmod(p, mode); err != nil {
			os.Remove(rec)
			return err
		}
		done = append(done, change{path: p, rec: rec, mode: st.Mode().Perm()})
		locked[p] = true
		return nil
	}
	// lockFiles makes every regular file in dir not yet locked read-only.
	lockFiles := func() error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if p := filepath.Join(dir, e.Name()); e.Type().IsRegular() && !locked[p] {
				if err := lock(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// The files, then the directory, then any file the gate created in
	// between (none can appear after the directory is read-only).
	for _, step := range []func() error{lockFiles, func() error { return lock(dir) }, lockFiles} {
		if err := step(); err != nil {
			revert(ctx)
			return nil, fmt.Errorf("cache-readonly: %w", err)
		}
	}
	return revert, nil
}

// StateDir is where pending permission changes are recorded.
func StateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "quannex-gameday")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "quannex-gameday")
	}
	return filepath.Join(os.TempDir(), "quannex-gameday")
}

type chmodRecord struct {
	Path string      `json:"path"`
	Mode fs.FileMode `json:"mode"`
	// Owner is the run that made the change (target.Owner): the revert is
	// its own while it runs.
	Owner string `json:"owner,omitempty"`
}

func recordChmod(path string, mode fs.FileMode) (string, error) {
	dir := StateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	b, _ := json.Marshal(chmodRecord{Path: path, Mode: mode, Owner: target.Owner()})
	f, err := os.CreateTemp(dir, "chmod-"+strconv.Itoa(os.Getpid())+"-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return "", err
	}
	return f.Name(), f.Sync()
}

// RestorePermissions undoes every recorded permission change whose harness
// did not revert it and is gone (killed), and returns how many it restored
// and how many it left alone because the run that made them still runs:
// gameday cleanup beside a running GameDay must not end its fault.
func RestorePermissions() (restored, running int, err error) {
	files, _ := filepath.Glob(filepath.Join(StateDir(), "chmod-*.json"))
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var r chmodRecord
		if err := json.Unmarshal(b, &r); err != nil {
			os.Remove(f)
			continue
		}
		if target.OwnerAlive(r.Owner) {
			running++
			continue
		}
		if err := os.Chmod(r.Path, r.Mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		os.Remove(f)
		restored++
	}
	return restored, running, errors.Join(errs...)
}
