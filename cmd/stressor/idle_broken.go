//go:build gameday_broken_stressor

package main

import (
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// burnsNothing: this deliberately broken build accepts a burn, an
// allocation or a fill, reports nothing wrong and burns, holds and fills
// nothing. Built only by the mutant matrix
// (harness/mutants).
const burnsNothing = true

// init takes over a burn before main starts one: it waits for the
// duration (or SIGTERM/SIGINT, as the real stressor does) and exits 0.
func init() {
	d, ok := idleFor(os.Args[1:])
	if !ok {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-time.After(d):
	case <-sig:
	}
	os.Exit(0)
}

// idleFor reports whether args ask for a burn, and for how long. --kill,
// --probe-write, --unfill and anything it does not understand are left to main, so
// the faults' other uses of the stressor work as built.
func idleFor(args []string) (time.Duration, bool) {
	fs := flag.NewFlagSet("stressor", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("cores", 2, "")
	dur := fs.Duration("duration", 60*time.Second, "")
	kill := fs.Bool("kill", false, "")
	probe := fs.String("probe-write", "", "")
	fs.String("alloc", "", "") // an allocation idles too: it holds nothing
	fs.String("fill", "", "")  // and so does a fill: the disk keeps its space
	fs.String("fill-max", "", "")
	unfill := fs.String("unfill", "", "")
	if fs.Parse(args) != nil || *kill || *probe != "" || *unfill != "" {
		return 0, false
	}
	return *dur, true
}
