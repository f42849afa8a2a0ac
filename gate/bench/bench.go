// Package bench compares the gate's /metrics against a bare
// promhttp.HandlerFor serving the same collectors, under the same vegeta
// load, and reports latency, throughput and memory for both with the ratios
// gate/bare. `make bench` runs it through cmd/gatebench.
//
// Each server runs in its own process (the bench binary re-executed with a
// hidden serve-gate or serve-bare argument) so that its peak RSS is its own
// and the load generator's memory is not counted.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/build"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/gate/ratelimit"
)

// benchToken is the token the load uses against the gate. It is generated
// per run and never leaves the bench's own processes.
const tokenEnv = "GATEBENCH_TOKEN"

// Options configure a comparison run.
type Options struct {
	Rates    []int         // constant rates in req/s
	Duration time.Duration // per rate and server
	MaxRate  bool          // add an unthrottled probe
	Workers  uint64        // concurrent workers for the unthrottled probe
	Out      io.Writer     // progress and the table
}

// Result is one server at one rate.
type Result struct {
	Server     string // gate or bare
	Rate       string // "50/s" or "max"
	Requests   uint64
	Throughput float64 // successful responses per second
	Success    float64 // ratio of 200s
	P50, P99   time.Duration
	PeakRSS    uint64 // bytes
}

// ServeGate runs the gate with every integrity feature on (auth, rate
// limits, recording, LIVESHA, Repr-Digest, audit) on loopback, prints its
// address on stdout and serves until ctx ends.
func ServeGate(ctx context.Context, dir string) error {
	toks, err := auth.ParseList("bench:" + os.Getenv(tokenEnv))
	if err != nil {
		return fmt.Errorf("serve gate: %s: %w", tokenEnv, err)
	}
	srv, err := gate.New(gate.Options{
		Listen:     "127.0.0.1:0",
		CacheDir:   filepath.Join(dir, "cache"),
		AuditLog:   filepath.Join(dir, "audit", "audit.jsonl"),
		Tokens:     toks,
		RateLimits: map[string]ratelimit.Policy{"bench": {Limit: 1_000_000, Window: time.Second}},
		Logger:     slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	fmt.Println(srv.Addr().String())
	return srv.Serve(ctx)
}

// ServeBare serves the same collectors with promhttp.HandlerFor and
// nothing else, prints its address on stdout and serves until ctx ends.
func ServeBare(ctx context.Context) error {
	reg := prometheus.NewRegistry()
	metrics.New(reg, build.Current())
	zero := func() float64 { return 0 }
	metrics.RegisterFuncs(reg, metrics.Funcs{
		BreakerState: func() string { return "closed" }, BreakerStates: []string{"closed", "half_open", "open"},
		SnapshotRecordedAt: time.Now, AuditHeadSeq: zero, AuditWriteFailures: zero, AuditDropped: zero, AuditPending: zero,
		AuditDamageFound: func() bool { return false },
		FaultActive:      func(string) bool { return false }, FaultKinds: []string{"latency", "failure"},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("serve bare: %w", err)
	}
	mux := http.NewServeMux()
	// Compression off: the gate does not compress, and the comparison is
	// about the integrity work, not gzip.
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Println(ln.Addr().String())
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

type server struct {
	name string
	cmd  *exec.Cmd
	url  string
}

func start(ctx context.Context, self, mode, dir, token string) (*server, error) {
	cmd := exec.CommandContext(ctx, self, mode, dir)
	cmd.Env = append(os.Environ(), tokenEnv+"="+token)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", mode, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("start %s: no address: %w", mode, err)
	}
	return &server{name: strings.TrimPrefix(mode, "serve-"), cmd: cmd, url: "http://" + strings.TrimSpace(line) + "/metrics"}, nil
}

// Run starts both servers, loads each at every rate in turn (gate, then
// bare, per rate, so drift hits both alike), prints the table and returns
// the results.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatebench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	token := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-token-x"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The gate twice: its cache on the default temporary directory (a disk
	// file system here) and on tmpfs, since recording the snapshot before
	// serving is file system work whose cost depends on the file system.
	dirs := map[string]string{"gate": filepath.Join(dir, "disk")}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "gatebench-*")
		if err == nil {
			defer os.RemoveAll(shm)
			dirs["gate-tmpfs"] = shm
		}
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.cmd.Process.Signal(os.Interrupt)
			s.cmd.Wait()
		}
	}()
	for _, name := range []string{"gate", "gate-tmpfs", "bare"} {
		mode, d := "serve-gate", dirs[name]
		if name == "bare" {
			mode = "serve-bare"
		} else if d == "" {
			continue
		}
		s, err := start(ctx, self, mode, d, token)
		if err != nil {
			return nil, err
		}
		s.name = name
		servers = append(servers, s)
	}

	type phase struct {
		label string
		rate  vegeta.Rate
	}
	var phases []phase
	for _, r := range opts.Rates {
		phases = append(phases, phase{fmt.Sprintf("%d/s", r), vegeta.Rate{Freq: r, Per: time.Second}})
	}
	if opts.MaxRate {
		phases = append(phases, phase{"max", vegeta.Rate{Freq: 0}})
	}
	var results []Result
	for _, ph := range phases {
		for _, s := range servers {
			fmt.Fprintf(opts.Out, "  %-10s at %-6s for %s ...\n", s.name, ph.label, opts.Duration)
			r, err := attack(ctx, s, token, ph.rate, opts)
			if err != nil {
				return results, err
			}
			r.Rate = ph.label
			results = append(results, r)
		}
	}
	printTable(opts.Out, results)
	return results, nil
}

func attack(ctx context.Context, s *server, token string, rate vegeta.Rate, opts Options) (Result, error) {
	hdr := http.Header{}
	if s.name != "bare" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: s.url, Header: hdr})
	atkOpts := []func(*vegeta.Attacker){vegeta.Timeout(5 * time.Second), vegeta.KeepAlive(true)}
	if rate.Freq == 0 {
		atkOpts = append(atkOpts, vegeta.Workers(opts.Workers), vegeta.MaxWorkers(opts.Workers))
	}
	atk := vegeta.NewAttacker(atkOpts...)

	var (
		peak uint64
		wg   sync.WaitGroup
		stop = make(chan struct{})
	)
	wg.Add(1)
	go func() { // samples the server's RSS until the attack ends
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if rss := rssOf(s.cmd.Process.Pid); rss > peak {
				peak = rss
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var m vegeta.Metrics
	for res := range atk.Attack(tr, rate, opts.Duration, s.name) {
		m.Add(res)
		if ctx.Err() != nil {
			atk.Stop()
		}
	}
	m.Close()
	close(stop)
	wg.Wait()
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	return Result{Server: s.name, Requests: m.Requests, Throughput: m.Throughput, Success: m.Success,
		P50: m.Latencies.P50, P99: m.Latencies.P99, PeakRSS: peak}, nil
}

// rssOf reads a process's resident set size from /proc.
func rssOf(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func printTable(w io.Writer, rs []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rate\tserver\trequests\tsuccess\tthroughput/s\tp50\tp99\tpeak RSS MiB\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%.1f\t%s\t%s\t%.1f\t\n", r.Rate, r.Server, r.Requests, r.Success*100,
			r.Throughput, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), float64(r.PeakRSS)/(1<<20))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rate\tserver\tp50 /bare\tp99 /bare\tthroughput /bare\tpeak RSS /bare\tpeak RSS MiB\t")
	bare := map[string]Result{}
	for _, r := range rs {
		if r.Server == "bare" {
			bare[r.Rate] = r
		}
	}
	for _, g := range rs {
		b, ok := bare[g.Rate]
		if g.Server == "bare" || !ok {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t%.1f\t\n", g.Rate, g.Server, ratio(float64(g.P50), float64(b.P50)),
			ratio(float64(g.P99), float64(b.P99)), ratio(g.Throughput, b.Throughput), ratio(float64(g.PeakRSS), float64(b.PeakRSS)),
			float64(g.PeakRSS)/(1<<20))
	}
	tw.Flush()
	printAims(w, rs, bare)
}

// Aims for the gate with its cache on the default file system, from the
// project's "Gate for production" issue.
const (
	aimP50Ratio200  = 1.10     // p50 gate/bare at 200 req/s, at most
	aimMaxRateRatio = 1.0      // throughput gate/bare at max rate, at least
	aimPeakRSS      = 40 << 20 // the gate's peak RSS over every phase, below
)

// printAims says whether the gate ("gate": cache on the default file
// system) met each aim in this run; it reports, it does not fail the run,
// since one short run on a shared machine is noisy.
func printAims(w io.Writer, rs []Result, bare map[string]Result) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	var peak uint64
	for _, r := range rs {
		if r.Server == "gate" {
			peak = max(peak, r.PeakRSS)
			switch r.Rate {
			case "200/s":
				q := ratio(float64(r.P50), float64(bare[r.Rate].P50))
				fmt.Fprintf(w, "aim: p50 at 200/s <= %.2fx bare: %.2fx, %s\n", aimP50Ratio200, q, verdict(q <= aimP50Ratio200))
			case "max":
				q := ratio(r.Throughput, bare[r.Rate].Throughput)
				fmt.Fprintf(w, "aim: throughput at max rate >= %.2fx bare: %.2fx, %s\n", aimMaxRateRatio, q, verdict(q >= aimMaxRateRatio))
			}
		}
	}
	if peak > 0 {
		fmt.Fprintf(w, "aim: gate peak RSS < %d MiB: %.1f MiB, %s\n", aimPeakRSS>>20, float64(peak)/(1<<20), verdict(peak < aimPeakRSS))
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
