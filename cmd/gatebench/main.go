// Command gatebench compares the gate's /metrics with a bare promhttp
// handler over the same collectors under vegeta load on loopback, and
// prints p50, p99, throughput and peak RSS for both with the ratios.
//
//	gatebench [-rates 50,200,500] [-duration 10s] [-max=true]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quannex/gameday/gate/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gatebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) > 0 { // the re-executed server processes
		switch args[0] {
		case "serve-gate":
			return bench.ServeGate(ctx, args[1])
		case "serve-bare":
			return bench.ServeBare(ctx)
		}
	}
	fs := flag.NewFlagSet("gatebench", flag.ContinueOnError)
	rates := fs.String("rates", "50,200,500", "comma-separated constant rates in requests per second")
	dur := fs.Duration("duration", 10*time.Second, "length of each phase, per server")
	maxRate := fs.Bool("max", true, "add an unthrottled max-rate probe")
	workers := fs.Uint64("workers", 16, "concurrent connections for the max-rate probe")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := bench.Options{Duration: *dur, MaxRate: *maxRate, Workers: *workers, Out: os.Stdout}
	for _, r := range strings.Split(*rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			return fmt.Errorf("-rates: %q is not a positive integer", r)
		}
		opts.Rates = append(opts.Rates, n)
	}
	if *dur <= 0 || *dur > 5*time.Minute {
		return fmt.Errorf("-duration: must be between 0 and 5m")
	}
	fmt.Printf("gatebench: gate /metrics (auth, rate limit, record, LIVESHA, Repr-Digest, audit) vs bare promhttp, same collectors, loopback\n")
	_, err := bench.Run(ctx, opts)
	return err
}
