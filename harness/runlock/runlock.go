// Package runlock is a GameDay run's hold on its report directory: one
// run writes to a directory at a time, and the lock file says which (its
// process, scenarios, target and start, and, once a stop condition or an
// operator stopped it, the abort) so that a second run is refused naming
// the holder and gameday stop can find the run to stop.
//
// The hold is an flock(2) on DIR/.gameday.lock: the kernel drops it when
// the holder exits, however it exits, so a killed run never leaves a
// stale lock. The file itself stays (removing it would let two runs lock
// two different files of one name).
package runlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/quannex/gameday/reports"
)

// FileName is the lock file in a report directory.
const FileName = ".gameday.lock"

// Info is what the lock file says of the run that holds it.
type Info struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	Scenarios []string  `json:"scenarios"`
	Target    string    `json:"target"`
	StartedAt time.Time `json:"started_at"`
	// Scenario is the one running now.
	Scenario string `json:"scenario,omitempty"`
	// Abort is set once the run was stopped, and holds the reverts as
	// they complete.
	Abort *reports.Abort `json:"abort,omitempty"`
}

// ErrNotHeld: no run holds the directory.
var ErrNotHeld = errors.New("no GameDay run holds it")

// HeldError is a directory another run holds.
type HeldError struct {
	Dir    string
	Holder Info
}

func (e *HeldError) Error() string {
	h := e.Holder
	return fmt.Sprintf("%s is in use by gameday pid %d on %s (run %v against %s, since %s): one GameDay per report directory at a time; gameday stop --report-dir %s stops it",
		e.Dir, h.PID, h.Host, h.Scenarios, h.Target, h.StartedAt.UTC().Format(time.RFC3339), e.Dir)
}

// Lock is a held report directory.
type Lock struct {
	f    *os.File
	info Info
}

// Acquire takes dir (created if missing) for the run info describes, or
// returns a *HeldError naming the run that holds it.
func Acquire(dir string, info Info) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("runlock: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("runlock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, rerr := Read(dir)
			if rerr != nil {
				holder = Info{Host: "?", Target: "?"}
			}
			return nil, &HeldError{Dir: dir, Holder: holder}
		}
		return nil, fmt.Errorf("runlock: lock %s: %w", f.Name(), err)
	}
	l := &Lock{f: f, info: info}
	if err := l.write(); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

// Update changes what the lock file says (the scenario running, the
// abort) while the run holds it.
func (l *Lock) Update(change func(*Info)) error {
	change(&l.info)
	return l.write()
}

func (l *Lock) write() error {
	b, err := json.Marshal(l.info)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("runlock: %w", err)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("runlock: %w", err)
	}
	return nil
}

// Release lets the directory go; the file is emptied and stays.
func (l *Lock) Release() error {
	l.f.Truncate(0)
	return l.f.Close() // closing drops the flock
}

// Read returns what the lock file of dir says of the run that holds it,
// or ErrNotHeld.
func Read(dir string) (Info, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, ErrNotHeld
	}
	if err != nil {
		return Info{}, fmt.Errorf("runlock: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return Info{}, ErrNotHeld
	}
	// The holder rewrites the file whole (truncate, write): a read between
	// the two finds it empty, so read again.
	var err2 error
	for range 10 {
		var info Info
		b, err := os.ReadFile(f.Name())
		if err == nil {
			if err2 = json.Unmarshal(b, &info); err2 == nil {
				return info, nil
			}
		} else {
			err2 = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return Info{}, fmt.Errorf("runlock: %s: %w", f.Name(), err2)
}
