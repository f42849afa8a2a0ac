package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/runlock"
	"github.com/quannex/gameday/reports"
)

const stopHelp = `Stop a running GameDay: revert every fault now.

Example: gameday stop --report-dir reports/out

Finds the run that writes to --report-dir (its lock file, .gameday.lock,
names the process) and sends it SIGUSR1, the operator's stop: the run
reverts every fault at once, injects nothing more, keeps observing through
recovery so that its report shows what recovery looked like, and ends with
the verdict aborted (its exit code 5), the reason "stopped by operator".
stop then waits, up to --wait, for the run to report its faults reverted,
and prints how long that took.

--pid sends the stop to that process instead (a gameday run on this
machine); without --report-dir it does not wait.

Exit codes: 0 the run confirmed its faults reverted (or had ended);
2 usage; 3 no run holds the directory, the process is not a gameday run
on this machine, or it did not confirm within --wait.`

// addStop declares gameday stop.
func addStop(ctx context.Context, app *cli.App, stdout io.Writer) func() error {
	cmd := app.Cmd(nil, "stop", stopHelp)
	dir := app.Flag(cmd, "report-dir", "GAMEDAY_REPORT_DIR", "the report directory of the run to stop (default reports/out, unless --pid is given)").PlaceHolder("DIR").String()
	pid := cmd.Flag("pid", "the process id of the run to stop (a gameday run on this machine)").Int()
	wait := cmd.Flag("wait", "how long to wait for the run to confirm its faults reverted").Default("60s").Duration()
	return func() error {
		d, byDir := *dir, *dir != "" || *pid == 0
		if d == "" {
			d = "reports/out"
		}
		return stopRun(ctx, stdout, d, *pid, byDir, *wait)
	}
}

// stopRun signals the run and, with a report directory, waits for its
// confirmation.
func stopRun(ctx context.Context, stdout io.Writer, dir string, pid int, byDir bool, wait time.Duration) error {
	if wait <= 0 {
		return usagef("--wait: %s: must be positive", wait)
	}
	if pid < 0 {
		return usagef("--pid: %d: not a process id", pid)
	}
	var info runlock.Info
	if byDir {
		var err error
		info, err = runlock.Read(dir)
		switch {
		case errors.Is(err, runlock.ErrNotHeld):
			return fmt.Errorf("stop: no GameDay run writes to %s (none holds its lock)", dir)
		case err != nil:
			return fmt.Errorf("stop: %w", err)
		case pid != 0 && pid != info.PID:
			return usagef("--pid %d: the run that writes to %s is pid %d", pid, dir, info.PID)
		}
		if h := hostname(); info.Host != h {
			return fmt.Errorf("stop: the run that writes to %s is pid %d on %s, not this machine (%s): stop it there", dir, info.PID, info.Host, h)
		}
		pid = info.PID
	}
	if err := checkGameday(pid); err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		return fmt.Errorf("stop: signal pid %d: %w", pid, err)
	}
	if !byDir {
		fmt.Fprintf(stdout, "gameday: sent the operator's stop to pid %d; it reverts every fault now (its progress lines and report say when)\n", pid)
		return nil
	}
	fmt.Fprintf(stdout, "gameday: sent the operator's stop to pid %d (%s against %s)\n", pid, strings.Join(info.Scenarios, ", "), info.Target)
	return awaitReverted(ctx, stdout, dir, wait)
}

// awaitReverted polls the run's lock file until it reports every fault
// reverted, or the run has ended.
func awaitReverted(ctx context.Context, stdout io.Writer, dir string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		info, err := runlock.Read(dir)
		switch {
		case errors.Is(err, runlock.ErrNotHeld):
			fmt.Fprintf(stdout, "gameday: the run ended; its report is in %s\n", dir)
			return nil
		case err == nil && info.Abort != nil && info.Abort.BreachToRevertSeconds != nil:
			printStopped(stdout, info.Abort)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stop: the run did not report its faults reverted within %s (--wait); its progress lines say why", wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func printStopped(w io.Writer, ab *reports.Abort) {
	fmt.Fprintf(w, "gameday: stopped (%s: %s); %d fault(s) reverted %.3fs after the stop", ab.Condition, ab.Reason, len(ab.Reverts), *ab.BreachToRevertSeconds)
	if len(ab.LeftBehind) > 0 {
		fmt.Fprintf(w, "; STILL ACTIVE: %s", strings.Join(ab.LeftBehind, "; "))
	}
	fmt.Fprintln(w, "; the run goes on observing recovery, then writes its report")
}

// checkGameday refuses a pid that is not a gameday process on this
// machine, so that a stale or mistyped pid never signals another program.
func checkGameday(pid int) error {
	if pid == 0 {
		return usagef("give --report-dir or --pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stop: no process %d", pid)
	}
	if err != nil {
		return nil // no /proc (macOS): the lock file named it
	}
	argv0, rest, _ := strings.Cut(string(b), "\x00")
	if !strings.Contains(argv0, "gameday") && !strings.Contains(rest, "gameday") {
		return fmt.Errorf("stop: pid %d is not a gameday run (%s)", pid, argv0)
	}
	return nil
}
