// Command stressor burns CPU for the GameDay cpu-spike fault: N busy
// goroutines for a fixed duration, after which it exits by itself, so a
// harness that dies mid-fault never leaves it running.
//
//	stressor --cores 2 --duration 60s
//	stressor --kill      stop every other stressor process (inside a
//	                     container without a shell, this is how the harness
//	                     reverts the fault early)
//	stressor --probe-write DIR
//	                     create, sync and remove a file in DIR: exit 0 when
//	                     the write succeeded, 1 when the filesystem refused
//	                     it (EACCES, EPERM, EROFS), 3 on any other error; run
//	                     as the gate's user, this is how the harness proves
//	                     the cache-readonly fault bites
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	cores := flag.Int("cores", 2, "busy goroutines to run (1-64)")
	dur := flag.Duration("duration", 60*time.Second, "how long to burn (at most 1h); it exits by itself after")
	kill := flag.Bool("kill", false, "kill every other stressor process and exit")
	probe := flag.String("probe-write", "", "create and remove a file in this directory, then exit (0 written, 1 refused, 3 error)")
	flag.Parse()
	if *probe != "" {
		os.Exit(probeWrite(*probe))
	}
	if *kill {
		n := killOthers()
		fmt.Printf("stressor: killed %d\n", n)
		return
	}
	if *cores < 1 || *cores > 64 {
		fmt.Fprintln(os.Stderr, "stressor: --cores must be between 1 and 64")
		os.Exit(2)
	}
	if *dur <= 0 || *dur > time.Hour {
		fmt.Fprintln(os.Stderr, "stressor: --duration must be between 0 and 1h")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*cores)
	stop := make(chan struct{})
	for range *cores {
		go func() { // exits when stop closes
			x := uint64(1)
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < 1_000_000; i++ {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-time.After(*dur):
	case <-sig:
	}
	close(stop)
}

// killOthers sends SIGKILL to every process whose executable is named
// stressor, except this one.
func killOthers() int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv0, _, _ := strings.Cut(string(cmd), "\x00")
		if filepath.Base(argv0) == "stressor" {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	return n
}
