// Command stressor burns CPU for the GameDay cpu-spike fault: N busy
// goroutines for a fixed duration, after which it exits by itself, so a
// harness that dies mid-fault never leaves it running.
//
//	stressor --cores 2 --duration 60s
//	stressor --alloc 200MiB --duration 60s
//	                     allocate and touch that much memory and hold it
//	                     (the memory-pressure fault), then exit
//	stressor --kill      stop every other stressor process (inside a
//	                     container without a shell, this is how the harness
//	                     reverts the fault early)
//	stressor --probe-write DIR
//	                     create, sync and remove a file in DIR: exit 0 when
//	                     the write succeeded, 1 when the filesystem refused
//	                     it (EACCES, EPERM, EROFS), 3 on any other error; run
//	                     as the gate's user, this is how the harness proves
//	                     the cache-readonly fault bites; 4 when the
//	                     filesystem is full (ENOSPC): the disk-full fault
//	stressor --fill DIR --duration 60s
//	                     write a file into DIR until its filesystem is full
//	                     (ENOSPC), keep it full (space freed meanwhile is
//	                     taken back) and remove the file at the end or on a
//	                     signal; a filesystem over --fill-max is refused, so
//	                     the host's own disk is never filled
//	stressor --unfill DIR
//	                     remove the files a killed --fill left in DIR
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
	alloc := flag.String("alloc", "", "allocate and touch this much memory (bytes, or KiB, MiB, GiB) and hold it for --duration, instead of burning CPU")
	fillDir := flag.String("fill", "", "fill the filesystem under this directory (ENOSPC) and keep it full for --duration, instead of burning CPU")
	fillMax := flag.String("fill-max", "1GiB", "the largest filesystem --fill fills (bytes, or KiB, MiB, GiB)")
	unfillDir := flag.String("unfill", "", "remove the files --fill left in this directory, then exit")
	flag.Parse()
	if *probe != "" {
		os.Exit(probeWrite(*probe))
	}
	if *unfillDir != "" {
		os.Exit(unfill(*unfillDir))
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
	if *fillDir != "" {
		limit, err := parseBytes(*fillMax)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stressor: --fill-max:", err)
			os.Exit(2)
		}
		os.Exit(fill(*fillDir, *dur, limit))
	}
	if *alloc != "" {
		n, err := parseBytes(*alloc)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stressor: --alloc:", err)
			os.Exit(2)
		}
		hold(n, *dur)
		return
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

// hold allocates n bytes, writes every page of it so the kernel charges it
// to the memory cgroup, and keeps it until d passes or a signal comes.
func hold(n int64, d time.Duration) {
	mem := make([]byte, n)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-time.After(d):
	case <-sig:
	}
	runtime.KeepAlive(mem)
}

// parseBytes reads "209715200", "200MiB", "512KiB" or "1GiB".
func parseBytes(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (64<<30)/mult {
		return 0, fmt.Errorf("%q: want a size such as 200MiB, up to 64GiB", s)
	}
	return n * mult, nil
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
