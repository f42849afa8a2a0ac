// Package bench compares the gate's /metrics against a bare
// promhttp.HandlerFor serving the same collectors, under the same vegeta
// load, and reports latency, throughput and memory for both with the ratios
// gate/bare. `make bench` runs it through cmd/gatebench.
//
// Three suites, each against its own baseline in the same run:
//
//   - plain HTTP, the gate's cache on the default file system and on tmpfs,
//     at a few constant rates and at max rate;
//   - TLS: the gate with --web.config.file against exporter-toolkit's own
//     TLS server (web.Serve, what every Prometheus exporter runs) serving
//     the bare handler, with the same certificate and web config;
//   - a large payload (10 MiB by default): both serve the same collectors
//     plus one that pads the payload to that size.
//
// Each server runs in its own process (the bench binary re-executed with a
// hidden serve-gate or serve-bare argument) so that its peak RSS is its own
// and the load generator's memory is not counted.
package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/build"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/gate/ratelimit"
)

// tokenEnv carries the token the load uses against the gate. It is
// generated per run and never leaves the bench's own processes.
const tokenEnv = "GATEBENCH_TOKEN"

// Suites, the values of Result.Suite.
const (
	SuitePlain = "http"
	SuiteTLS   = "tls"
	SuiteBig   = "large payload"
)

// Options configure a comparison run.
type Options struct {
	Rates    []int         // constant rates in req/s (plain suite)
	Duration time.Duration // per rate and server
	MaxRate  bool          // add an unthrottled probe (plain and TLS suites)
	Workers  uint64        // concurrent workers for the unthrottled probe
	// TLS adds the TLS suite, at TLSRate and, with MaxRate, max rate.
	TLS     bool
	TLSRate int
	// BigPayload, if positive, adds the large-payload suite: payloads of
	// about this many bytes, at BigRate req/s.
	BigPayload int
	BigRate    int
	Out        io.Writer // progress and the tables
}

// Result is one server at one rate.
type Result struct {
	Suite      string
	Server     string // gate, gate-tmpfs or bare
	Rate       string // "50/s" or "max"
	Requests   uint64
	Throughput float64 // successful responses per second
	Success    float64 // ratio of 200s
	P50, P99   time.Duration
	PeakRSS    uint64 // bytes
}

// ServeOptions configure one server process.
type ServeOptions struct {
	// WebConfig, if set, is an exporter-toolkit web config to serve TLS by.
	WebConfig string
	// Pad, if positive, adds a collector that makes the payload about this
	// many bytes.
	Pad int
}

// ServeGate runs the gate with every integrity feature on (auth, rate
// limits, recording, LIVESHA, Repr-Digest, audit, the head file) on
// loopback, prints its address on stdout and serves until ctx ends.
func ServeGate(ctx context.Context, dir string, o ServeOptions) error {
	toks, err := auth.ParseList("bench:" + os.Getenv(tokenEnv))
	if err != nil {
		return fmt.Errorf("serve gate: %s: %w", tokenEnv, err)
	}
	reg := prometheus.NewRegistry()
	opts := gate.Options{
		Listen:        "127.0.0.1:0",
		CacheDir:      filepath.Join(dir, "cache"),
		AuditLog:      filepath.Join(dir, "audit", "audit.jsonl"),
		Tokens:        toks,
		RateLimits:    map[string]ratelimit.Policy{"bench": {Limit: 1_000_000, Window: time.Second}},
		Logger:        slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Registry:      reg,
		WebConfigFile: o.WebConfig,
	}
	if o.Pad > 0 {
		reg.MustRegister(newPadding(o.Pad))
		// Encoding megabytes takes longer than the default second on a
		// loaded machine: an operator serving such payloads sets this.
		opts.GenerationTimeout = 10 * time.Second
	}
	srv, err := gate.New(opts)
	if err != nil {
		return err
	}
	fmt.Println(srv.Addr().String())
	return srv.Serve(ctx)
}

// ServeBare serves the same collectors with promhttp.HandlerFor and
// nothing else — over TLS through exporter-toolkit's web.Serve when
// o.WebConfig is set —, prints its address on stdout and serves until ctx
// ends.
func ServeBare(ctx context.Context, o ServeOptions) error {
	reg := prometheus.NewRegistry()
	metrics.New(reg, build.Current())
	zero := func() float64 { return 0 }
	metrics.RegisterFuncs(reg, metrics.Funcs{
		BreakerState: func() string { return "closed" }, BreakerStates: []string{"closed", "half_open", "open"},
		SnapshotRecordedAt: time.Now, AuditHeadSeq: zero, AuditWriteFailures: zero, AuditDropped: zero, AuditPending: zero,
		AuditDamageFound: func() bool { return false },
		FaultActive:      func(string) bool { return false }, FaultKinds: []string{"latency", "failure"},
	})
	if o.Pad > 0 {
		reg.MustRegister(newPadding(o.Pad))
	}
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
	if o.WebConfig != "" {
		noSystemd := false
		err = web.Serve(ln, srv, &web.FlagConfig{WebSystemdSocket: &noSystemd, WebConfigFile: &o.WebConfig},
			slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	} else {
		err = srv.Serve(ln)
	}
	if err != http.ErrServerClosed {
		return err
	}
	return nil
}

// padding is a collector of fixed series making up a payload size.
type padding struct{ ms []prometheus.Metric }

func newPadding(size int) *padding {
	desc := prometheus.NewDesc("bench_padding", "Series that pad the payload to a set size.", []string{"series", "value"}, nil)
	value := strings.Repeat("x", 160)
	const perSeries = 210 // bytes of text each series takes
	p := &padding{}
	for i := range max(1, size/perSeries) {
		p.ms = append(p.ms, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1, fmt.Sprintf("%07d", i), value))
	}
	return p
}

func (p *padding) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(p, ch) }
func (p *padding) Collect(ch chan<- prometheus.Metric) {
	for _, m := range p.ms {
		ch <- m
	}
}

type server struct {
	name string
	cmd  *exec.Cmd
	url  string
}

// spec is a server to start: its name in the tables, and the mode and
// arguments of the re-executed bench binary.
type spec struct {
	name string
	args []string
}

func start(ctx context.Context, self, token string, sp spec) (*server, error) {
	cmd := exec.CommandContext(ctx, self, sp.args...)
	cmd.Env = append(os.Environ(), tokenEnv+"="+token)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", sp.name, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("start %s: no address: %w", sp.name, err)
	}
	scheme := "http://"
	if slices.Contains(sp.args, "-web-config") {
		scheme = "https://"
	}
	return &server{name: sp.name, cmd: cmd, url: scheme + strings.TrimSpace(line) + "/metrics"}, nil
}

// phase is one load level.
type phase struct {
	label string
	rate  vegeta.Rate
}

func ratePhase(r int) phase {
	return phase{fmt.Sprintf("%d/s", r), vegeta.Rate{Freq: r, Per: time.Second}}
}

// suite is servers loaded at phases, compared within the suite.
type suite struct {
	name    string
	servers []spec
	phases  []phase
	tls     *tls.Config // the client side, for the TLS suite
}

// Run runs every suite: starts its servers, loads each at every phase in
// turn (gate, then bare, per phase, so drift hits both alike), stops them,
// then prints the tables and the aims and returns the results.
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

	plain := suite{name: SuitePlain, servers: []spec{{"gate", []string{"serve-gate", filepath.Join(dir, "disk")}}}}
	// The gate twice: its cache on the default temporary directory (a disk
	// file system here) and on tmpfs, since recording the snapshot before
	// serving is file system work whose cost depends on the file system.
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if shm, err := os.MkdirTemp("/dev/shm", "gatebench-*"); err == nil {
			defer os.RemoveAll(shm)
			plain.servers = append(plain.servers, spec{"gate-tmpfs", []string{"serve-gate", shm}})
		}
	}
	plain.servers = append(plain.servers, spec{"bare", []string{"serve-bare"}})
	for _, r := range opts.Rates {
		plain.phases = append(plain.phases, ratePhase(r))
	}
	if opts.MaxRate {
		plain.phases = append(plain.phases, phase{"max", vegeta.Rate{Freq: 0}})
	}
	suites := []suite{plain}
	if opts.TLS {
		webConfig, client, err := writeTLS(filepath.Join(dir, "tls"))
		if err != nil {
			return nil, err
		}
		s := suite{name: SuiteTLS, tls: client, phases: []phase{ratePhase(opts.TLSRate)}, servers: []spec{
			{"gate", []string{"serve-gate", filepath.Join(dir, "tls-gate"), "-web-config", webConfig}},
			{"bare", []string{"serve-bare", "-web-config", webConfig}},
		}}
		if opts.MaxRate {
			s.phases = append(s.phases, phase{"max", vegeta.Rate{Freq: 0}})
		}
		suites = append(suites, s)
	}
	if opts.BigPayload > 0 {
		pad := strconv.Itoa(opts.BigPayload)
		suites = append(suites, suite{name: SuiteBig, phases: []phase{ratePhase(opts.BigRate)}, servers: []spec{
			{"gate", []string{"serve-gate", filepath.Join(dir, "big-gate"), "-pad", pad}},
			{"bare", []string{"serve-bare", "-pad", pad}},
		}})
	}
	var results []Result
	for _, su := range suites {
		rs, err := runSuite(ctx, self, token, su, opts)
		results = append(results, rs...)
		if err != nil {
			return results, err
		}
	}
	printTables(opts.Out, results, opts)
	return results, nil
}

func runSuite(ctx context.Context, self, token string, su suite, opts Options) ([]Result, error) {
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.cmd.Process.Signal(os.Interrupt)
			s.cmd.Wait()
		}
	}()
	for _, sp := range su.servers {
		s, err := start(ctx, self, token, sp)
		if err != nil {
			return nil, err
		}
		servers = append(servers, s)
	}
	var results []Result
	for _, ph := range su.phases {
		for _, s := range servers {
			fmt.Fprintf(opts.Out, "  %-13s %-10s at %-6s for %s ...\n", su.name, s.name, ph.label, opts.Duration)
			r, err := attack(ctx, s, token, ph.rate, su.tls, opts)
			if err != nil {
				return results, err
			}
			r.Suite, r.Rate = su.name, ph.label
			results = append(results, r)
		}
	}
	return results, nil
}

func attack(ctx context.Context, s *server, token string, rate vegeta.Rate, tlsCfg *tls.Config, opts Options) (Result, error) {
	hdr := http.Header{}
	if s.name != "bare" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: s.url, Header: hdr})
	// HTTP/1.1 with keep-alive, as Prometheus scrapes.
	atkOpts := []func(*vegeta.Attacker){vegeta.Timeout(15 * time.Second), vegeta.KeepAlive(true), vegeta.HTTP2(false)}
	if tlsCfg != nil {
		atkOpts = append(atkOpts, vegeta.TLSConfig(tlsCfg))
	}
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

// printTables prints, per suite, the results and the ratios gate/bare,
// then whether the aims were met.
func printTables(w io.Writer, rs []Result, opts Options) {
	for _, name := range []string{SuitePlain, SuiteTLS, SuiteBig} {
		var in []Result
		for _, r := range rs {
			if r.Suite == name {
				in = append(in, r)
			}
		}
		if len(in) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", name)
		printSuite(w, in)
	}
	fmt.Fprintln(w)
	printAims(w, rs, opts)
}

func printSuite(w io.Writer, rs []Result) {
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
	for _, g := range rs {
		b, ok := bareOf(rs, g)
		if g.Server == "bare" || !ok {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t%.1f\t\n", g.Rate, g.Server, ratio(float64(g.P50), float64(b.P50)),
			ratio(float64(g.P99), float64(b.P99)), ratio(g.Throughput, b.Throughput), ratio(float64(g.PeakRSS), float64(b.PeakRSS)),
			float64(g.PeakRSS)/(1<<20))
	}
	tw.Flush()
}

// bareOf is the bare server's result in g's suite and phase.
func bareOf(rs []Result, g Result) (Result, bool) {
	for _, r := range rs {
		if r.Server == "bare" && r.Suite == g.Suite && r.Rate == g.Rate {
			return r, true
		}
	}
	return Result{}, false
}

// Aims for the gate ("gate": its cache on the default file system), from
// the project's "Gate for production" issue and the hostile-neighbour
// issue (TLS and large payloads).
const (
	aimP50Ratio200  = 1.10     // p50 gate/bare at 200 req/s, at most
	aimMaxRateRatio = 1.0      // throughput gate/bare at max rate, at least
	aimPeakRSS      = 40 << 20 // the gate's peak RSS over the plain phases, below
	aimTLSP50Ratio  = 1.10     // p50 gate/exporter-toolkit over TLS, at most
	aimBigP50Ratio  = 1.25     // p50 gate/bare with the large payload, at most
)

// printAims says whether the gate met each aim in this run; it reports, it
// does not fail the run, since one short run on a shared machine is noisy.
func printAims(w io.Writer, rs []Result, opts Options) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	var peak uint64
	for _, r := range rs {
		if r.Server != "gate" {
			continue
		}
		b, ok := bareOf(rs, r)
		if !ok {
			continue
		}
		p50, tput := ratio(float64(r.P50), float64(b.P50)), ratio(r.Throughput, b.Throughput)
		switch {
		case r.Suite == SuitePlain && r.Rate == "200/s":
			fmt.Fprintf(w, "aim: p50 at 200/s <= %.2fx bare: %.2fx, %s\n", aimP50Ratio200, p50, verdict(p50 <= aimP50Ratio200))
		case r.Suite == SuitePlain && r.Rate == "max":
			fmt.Fprintf(w, "aim: throughput at max rate >= %.2fx bare: %.2fx, %s\n", aimMaxRateRatio, tput, verdict(tput >= aimMaxRateRatio))
		case r.Suite == SuiteTLS && r.Rate == "max":
			fmt.Fprintf(w, "TLS: throughput at max rate %.2fx exporter-toolkit's TLS server\n", tput)
		case r.Suite == SuiteTLS:
			fmt.Fprintf(w, "aim: TLS p50 at %s <= %.2fx exporter-toolkit's TLS server: %.2fx, %s\n", r.Rate, aimTLSP50Ratio, p50, verdict(p50 <= aimTLSP50Ratio))
		case r.Suite == SuiteBig:
			fmt.Fprintf(w, "aim: %.1f MiB payload p50 at %s <= %.2fx bare: %.2fx, %s (throughput %.2fx)\n", float64(opts.BigPayload)/(1<<20), r.Rate,
				aimBigP50Ratio, p50, verdict(p50 <= aimBigP50Ratio), tput)
		}
		if r.Suite == SuitePlain {
			peak = max(peak, r.PeakRSS)
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
