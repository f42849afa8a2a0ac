package runlock

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/reports"
)

func TestOneRunPerDirectory(t *testing.T) {
	dir := t.TempDir()
	info := Info{PID: os.Getpid(), Host: "h", Scenarios: []string{"io-glitch"}, Target: "process", StartedAt: time.Now()}
	l, err := Acquire(dir, info)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, Info{PID: 2})
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.PID != os.Getpid() || !strings.Contains(err.Error(), "gameday pid") || !strings.Contains(err.Error(), "io-glitch") {
		t.Fatalf("second Acquire: %v, want it held by this process's run", err)
	}
	if err := l.Update(func(i *Info) { i.Abort = &reports.Abort{Condition: "operator"} }); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil || got.Abort == nil || got.Abort.Condition != "operator" || got.Target != "process" {
		t.Fatalf("Read: %+v %v", got, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Read after Release: %v, want ErrNotHeld", err)
	}
	l, err = Acquire(dir, info)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l.Release()
}

// TestAKilledHolderFreesTheDirectory: a run killed with SIGKILL holds
// nothing after it: the kernel drops an flock with its holder.
func TestAKilledHolderFreesTheDirectory(t *testing.T) {
	if os.Getenv("RUNLOCK_HOLD") != "" {
		if _, err := Acquire(os.Getenv("RUNLOCK_HOLD"), Info{PID: os.Getpid()}); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAKilledHolderFreesTheDirectory$")
	cmd.Env = append(os.Environ(), "RUNLOCK_HOLD="+dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("the helper did not take the lock: %q %v", buf, err)
	}
	if info, err := Read(dir); err != nil || info.PID != cmd.Process.Pid {
		t.Fatalf("Read while the helper holds it: %+v %v", info, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := Read(dir); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("after SIGKILL: %v, want ErrNotHeld", err)
	}
	l, err := Acquire(dir, Info{PID: os.Getpid()})
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	l.Release()
}
