//go:build gameday_broken_fallback500 || gameday_broken_breaker_open || gameday_broken_breaker_close || gameday_broken_livesha || gameday_broken_double_count || gameday_broken_conn_reset || gameday_broken_warning

package main

// This file exists only in the deliberately broken gates that the GameDay
// mutant matrix (package harness/mutants) builds, one build tag per mutant;
// each tag compiles one mutant_*.go file here, which names the mutant
// (const mutant). A normal build compiles none of them.
//
// Why the mutants act at the binary's edges, its flags and its HTTP
// surface, instead of inside package gate: a normal build must not contain
// a mutant, not even as a branch that is never taken, and the gate's
// package carries no test seam at all. From init, before main runs, a
// broken build:
//
//   - appends flags to `gate serve` (breaker mutants: a threshold no run
//     reaches, a cooldown no run outlasts);
//   - or moves the gate to an internal loopback port and answers on the
//     requested address itself, forwarding to the gate and breaking what
//     it forwards (fallback500, livesha, double_count, conn_reset, warning). The
//     "gate serving metrics" log line is rewritten to name the public
//     address, which is how the process target learns where to connect.
//
// Only `gate serve` is changed; every other command runs as built. The edge needs the JSON log on standard error and
// plain HTTP, as the process target runs the gate by default; --log-file
// and --web.config.file are refused.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/gate/metrics"
)

// The mutants, by the name their build tag gives (gameday_broken_NAME).
const (
	mutantFallback500  = "fallback500"
	mutantBreakerOpen  = "breaker_open"
	mutantBreakerClose = "breaker_close"
	mutantLiveSHA      = "livesha"
	mutantDoubleCount  = "double_count"
	mutantConnReset    = "conn_reset"
	mutantNoWarning    = "warning"
)

// mutantEdgeNeeded: this build's mutant breaks responses, so the edge
// must stand in front of the gate.
const mutantEdgeNeeded = mutant != mutantBreakerOpen && mutant != mutantBreakerClose

// connResetEvery is how often the conn_reset mutant drops a /metrics
// request: rare enough that the live ratio stays above a scenario's 95 %
// floor, so only the transport check has reason to turn red.
const connResetEvery = 50

func init() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		return
	}
	args, public, err := mutantArgs(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gate (mutant build):", err)
		os.Exit(2)
	}
	os.Args = append(os.Args[:1], args...)
	if !mutantEdgeNeeded {
		return
	}
	if err := startMutantEdge(public); err != nil {
		fmt.Fprintln(os.Stderr, "gate (mutant build):", err)
		os.Exit(3)
	}
}

// mutantArgs returns the `gate serve` arguments of this mutant build and,
// when the edge must answer in the gate's place, the address the gate was
// asked to listen on (the edge takes it; the gate moves to 127.0.0.1:0).
// getenv reads GATE_LISTEN, GATE_LOG_FILE and GATE_WEB_CONFIG_FILE as
// cmd/gate would.
func mutantArgs(args []string, getenv func(string) string) (out []string, public string, err error) {
	switch mutant {
	case mutantBreakerOpen: // a threshold no run reaches
		return setFlag(args, "2147483647", "breaker-threshold"), "", nil
	case mutantBreakerClose: // a cooldown no run outlasts
		return setFlag(args, "8760h", "breaker-cooldown"), "", nil
	}
	// The flags the edge cannot work with: it reads the gate's log on
	// standard error and speaks plain HTTP to the gate and its callers.
	for _, f := range [][2]string{{"log-file", "GATE_LOG_FILE"}, {"web.config.file", "GATE_WEB_CONFIG_FILE"}} {
		if flagValue(args, f[0]) != "" || getenv(f[1]) != "" {
			return nil, "", fmt.Errorf("--%s: not supported by the edge of this build, which reads the gate's log on standard error and speaks plain HTTP", f[0])
		}
	}
	public = flagValue(args, "web.listen-address", "listen")
	if public == "" {
		public = getenv("GATE_LISTEN")
	}
	if public == "" {
		public = gate.DefaultListen
	}
	return setFlag(args, "127.0.0.1:0", "web.listen-address", "listen"), public, nil
}

// flagValue is the value the last of names (a flag and its old name) has
// in args ("--name value" or "--name=value"); "" when none is given.
func flagValue(args []string, names ...string) string {
	value := ""
	for i := 0; i < len(args); i++ {
		name, v, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || !slices.Contains(names, name) {
			continue
		}
		if !hasValue && i+1 < len(args) {
			v = args[i+1]
			i++
		}
		value = v
	}
	return value
}

// setFlag returns args with every occurrence of names removed and the
// first of names set to value at the end: the command line refuses a flag
// given twice.
func setFlag(args []string, value string, names ...string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if strings.HasPrefix(args[i], "-") && slices.Contains(names, name) {
			if !hasValue {
				i++ // its value
			}
			continue
		}
		out = append(out, args[i])
	}
	return append(out, "--"+names[0], value)
}

// startMutantEdge listens on public, takes over standard error to learn
// the gate's internal address from its "gate serving metrics" line, and
// serves the edge. Both goroutines end with the process.
func startMutantEdge(public string) error {
	ln, err := net.Listen("tcp", public)
	if err != nil {
		return fmt.Errorf("edge: listen on %s: %w", public, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	realStderr := os.Stderr
	os.Stderr = w
	edge := newMutantEdge()
	go relayLog(r, realStderr, ln.Addr().String(), edge)
	srv := &http.Server{Handler: edge, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 90 * time.Second}
	go srv.Serve(ln)
	return nil
}

// relayLog copies the gate's log to stderr line by line; in the line that
// announces the gate's address it names the edge's address instead, and it
// tells edge where the gate is.
func relayLog(r io.Reader, stderr io.Writer, public string, edge *mutantEdge) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if strings.Contains(line, `"msg":"gate serving metrics"`) {
			if addr := addrOf(line); addr != "" {
				edge.setBackend("http://" + addr)
				line = strings.Replace(line, `"addr":"`+addr+`"`, `"addr":"`+public+`"`, 1)
			}
		}
		io.WriteString(stderr, line)
		if err != nil {
			return
		}
	}
}

// addrOf extracts the "addr" value of a JSON log line.
func addrOf(line string) string {
	_, rest, ok := strings.Cut(line, `"addr":"`)
	if !ok {
		return ""
	}
	addr, _, _ := strings.Cut(rest, `"`)
	return addr
}

// mutantEdge answers in the gate's place and forwards to it, breaking
// /metrics the way this build's mutant says. Every other path is forwarded
// untouched, so scrapes of /metrics/self and the admin API still work.
type mutantEdge struct {
	once    sync.Once
	ready   chan struct{}
	backend *url.URL
	proxy   *httputil.ReverseProxy
	tr      *http.Transport
	n       atomic.Int64 // /metrics requests seen
}

// newMutantEdge returns an edge that holds requests until setBackend.
func newMutantEdge() *mutantEdge {
	e := &mutantEdge{ready: make(chan struct{}), tr: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}}
	e.proxy = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { pr.SetURL(e.backend) },
		Transport:      e.tr,
		ModifyResponse: e.modify,
	}
	return e
}

// setBackend points the edge at the gate (base URL, such as
// http://127.0.0.1:41234) and releases the requests waiting for it.
func (e *mutantEdge) setBackend(base string) {
	e.once.Do(func() {
		u, err := url.Parse(base)
		if err == nil {
			e.backend = u
		}
		close(e.ready)
	})
}

func (e *mutantEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-e.ready:
	case <-time.After(15 * time.Second):
	}
	if e.backend == nil {
		http.Error(w, "mutant edge: the gate's address is unknown", http.StatusBadGateway)
		return
	}
	if r.URL.Path == "/metrics" {
		n := e.n.Add(1)
		if mutant == mutantConnReset && n%connResetEvery == 0 {
			dropConnection(w)
			return
		}
		if mutant == mutantDoubleCount {
			e.countAgain(r)
		}
	}
	e.proxy.ServeHTTP(w, r)
}

// dropConnection: conn_reset. The status line is sent and the connection
// closed before any header, so the client cannot retry the request on a
// fresh connection (it would after a close with nothing sent) and records
// a response without a status.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Write([]byte("HTTP/1.1 200 OK\r\n"))
	conn.Close()
}

// countAgain: double_count. The gate serves the request once more and the
// answer is thrown away, so its request counter rises by two for each
// response the client gets.
func (e *mutantEdge) countAgain(r *http.Request) {
	u := *e.backend
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), nil)
	if err != nil {
		return
	}
	req.Header = r.Header.Clone()
	if resp, err := e.tr.RoundTrip(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (e *mutantEdge) modify(resp *http.Response) error {
	if resp.Request == nil || resp.Request.URL.Path != "/metrics" {
		return nil
	}
	switch src := resp.Header.Get(gate.HeaderSource); {
	case mutant == mutantFallback500 && src == metrics.SourceSnapshot:
		return answer500(resp)
	case mutant == mutantLiveSHA && src == metrics.SourceLive:
		return signWrong(resp)
	case mutant == mutantNoWarning && src == metrics.SourceSnapshot:
		resp.Header.Del("Warning") // the stale snapshot leaves without its Warning: 110
	}
	return nil
}

// answer500: fallback500. Where the gate falls back to its snapshot, this
// build answers what an unguarded handler would: 500 and a JSON error.
func answer500(resp *http.Response) error {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	body := []byte(`{"error":"internal error","status":500}` + "\n")
	for _, h := range []string{gate.HeaderSource, gate.HeaderFallback, gate.HeaderReprDigest, "Warning", "Age"} {
		resp.Header.Del(h)
	}
	resp.StatusCode, resp.Status = http.StatusInternalServerError, "500 Internal Server Error"
	setBody(resp, "application/json", body)
	return nil
}

// signWrong: livesha. A live text payload leaves with a LIVESHA line that
// does not match it (the last hex digit changed) and a Repr-Digest of what
// is actually sent, as a gate that signed the wrong bytes would.
func signWrong(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if integrity.VerifyLiveSHA(body) == nil {
		trimmed := bytes.TrimSuffix(body, []byte("\n"))
		i := len(trimmed) - 1
		if trimmed[i] == '0' {
			trimmed[i] = '1'
		} else {
			trimmed[i] = '0'
		}
		resp.Header.Set(gate.HeaderReprDigest, integrity.ReprDigest(body))
	}
	setBody(resp, resp.Header.Get("Content-Type"), body)
	return nil
}

func setBody(resp *http.Response, contentType string, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Type", contentType)
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
}
