// Command gatebench compares the gate's /metrics with a bare promhttp
// handler over the same collectors under vegeta load on loopback, and
// prints p50, p99, throughput and peak RSS for both with the ratios.
//
//	gatebench [-rates 50,200,500] [-duration 10s] [-max=true] [-tls=true] [-tls-rate 200] [-big 10485760] [-big-rate 5]
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
	if len(args) > 0 && (args[0] == "serve-gate" || args[0] == "serve-bare") { // the re-executed server processes
		return serve(ctx, args[0], args[1:])
	}
	fs := flag.NewFlagSet("gatebench", flag.ContinueOnError)
	rates := fs.String("rates", "50,200,500", "comma-separated constant rates in requests per second")
	dur := fs.Duration("duration", 10*time.Second, "length of each phase, per server")
	maxRate := fs.Bool("max", true, "add an unthrottled max-rate probe")
	workers := fs.Uint64("workers", 16, "concurrent connections for the max-rate probe")
	withTLS := fs.Bool("tls", true, "add the TLS suite: the gate against exporter-toolkit's own TLS server")
	tlsRate := fs.Int("tls-rate", 200, "constant rate of the TLS suite, in requests per second")
	big := fs.Int("big", 10<<20, "payload size in bytes of the large-payload suite (0: no such suite)")
	bigRate := fs.Int("big-rate", 5, "constant rate of the large-payload suite, in requests per second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tlsRate <= 0 || *bigRate <= 0 || *big < 0 {
		return fmt.Errorf("-tls-rate and -big-rate must be positive, -big not negative")
	}
	opts := bench.Options{Duration: *dur, MaxRate: *maxRate, Workers: *workers, Out: os.Stdout,
		TLS: *withTLS, TLSRate: *tlsRate, BigPayload: *big, BigRate: *bigRate}
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
	fmt.Printf("gatebench: gate /metrics (auth, rate limit, record, LIVESHA, Repr-Digest, audit) vs bare promhttp, same collectors, loopback; over TLS vs exporter-toolkit's web.Serve; and with a large payload\n")
	_, err := bench.Run(ctx, opts)
	return err
}

// serve runs one server process of the comparison: serve-gate DIR
// [-web-config FILE] [-pad BYTES], or serve-bare with the same flags.
func serve(ctx context.Context, mode string, args []string) error {
	dir := ""
	if mode == "serve-gate" {
		if len(args) == 0 {
			return fmt.Errorf("serve-gate: want a directory")
		}
		dir, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	var o bench.ServeOptions
	fs.StringVar(&o.WebConfig, "web-config", "", "exporter-toolkit web config: serve TLS")
	fs.IntVar(&o.Pad, "pad", 0, "pad the payload to about this many bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if mode == "serve-gate" {
		return bench.ServeGate(ctx, dir, o)
	}
	return bench.ServeBare(ctx, o)
}
