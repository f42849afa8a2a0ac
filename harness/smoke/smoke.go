// Package smoke is the 60-second smoke pack, made fast: five checks against
// any running gate, meant for every merge and every deploy.
//
//  1. format + golden set: text and OpenMetrics both parse; every family of
//     fixtures/golden/metric-families.txt is present with its type
//  2. real traffic: 30 requests move quannex_metrics_requests_total by 30
//  3. live vs snapshot: /metrics is served live
//  4. forced snapshot: 3 generator failures through the fault API give a
//     snapshot with Warning, then live again (needs the admin token and a
//     gate started with fault injection; skipped, and said so, otherwise)
//  5. final verification: 200, LIVESHA, Repr-Digest and rate-limit headers,
//     p95 of the traffic under 200 ms, selftest answering 200 with status ok
//
// The pack passes only when all five checks ran and passed: a skipped check
// makes it incomplete, never a pass. On a pass (which needs the admin token
// for check 4) it records an end-to-end pass.
package smoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/quannex/gameday/fixtures"
	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/load"
)

// Check outcomes, and the pack's verdict: Pass, Fail or Incomplete.
const (
	Pass       = "pass"
	Fail       = "fail"
	Skip       = "skip"
	Incomplete = "incomplete" // nothing failed, but a check was skipped
)

// Check is one smoke check.
type Check struct {
	N      int     `json:"n"`
	Name   string  `json:"name"`
	Result string  `json:"result"`
	Detail string  `json:"detail"`
	Millis float64 `json:"ms"`
}

// Result is the whole pack.
type Result struct {
	URL    string  `json:"url"`
	Checks []Check `json:"checks"`
	// Verdict is Fail when a check failed, else Incomplete when one was
	// skipped, else Pass. Pass is Verdict == Pass: every check ran and
	// passed.
	Verdict     string    `json:"verdict"`
	Pass        bool      `json:"pass"`
	Skipped     int       `json:"skipped"`
	E2ERecorded bool      `json:"e2e_recorded"`
	Seconds     float64   `json:"seconds"`
	At          time.Time `json:"at"`
}

// Options configure Run.
type Options struct {
	URL        string // the gate's base URL
	Token      string // a metrics token with room for about 40 requests
	AdminToken string // optional: enables check 4 and the e2e pass
	Client     *http.Client

	api *gateapi.Client // set by Run
}

// ErrUnreachable is returned when the gate does not answer at all.
var ErrUnreachable = errors.New("gate unreachable")

// Run runs the five checks in order. err is only for a gate that cannot be
// reached; a failed check is in the result.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	o.api = gateapi.New(o.URL, o.Token, o.AdminToken, gateapi.WithHTTPClient(o.Client))
	o.URL = strings.TrimRight(o.URL, "/")
	start := time.Now()
	res := &Result{URL: o.URL, At: start.UTC()}
	if _, err := o.get(ctx, "/healthz", "", ""); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	var latencies []time.Duration
	steps := []struct {
		name string
		fn   func() (string, string)
	}{
		{"format + golden set", func() (string, string) { return o.format(ctx) }},
		{"real traffic moves the counters", func() (string, string) {
			r, d, l := o.traffic(ctx)
			latencies = l
			return r, d
		}},
		{"live vs snapshot source", func() (string, string) { return o.source(ctx) }},
		{"forced snapshot", func() (string, string) { return o.forced(ctx) }},
		{"final verification", func() (string, string) { return o.final(ctx, latencies) }},
	}
	failed := false
	for i, st := range steps {
		t0 := time.Now()
		result, detail := st.fn()
		res.Checks = append(res.Checks, Check{N: i + 1, Name: st.name, Result: result, Detail: detail, Millis: float64(time.Since(t0).Microseconds()) / 1000})
		switch result {
		case Fail:
			failed = true
		case Skip:
			res.Skipped++
		}
	}
	switch {
	case failed:
		res.Verdict = Fail
	case res.Skipped > 0:
		res.Verdict = Incomplete
	default:
		res.Verdict = Pass
	}
	res.Pass = res.Verdict == Pass
	if res.Pass && o.AdminToken != "" {
		if r, err := o.do(ctx, http.MethodPost, "/e2e/pass", o.AdminToken, "", nil); err == nil && r.code == 200 {
			res.E2ERecorded = true
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

type response struct {
	code   int
	header http.Header
	body   []byte
	took   time.Duration
}

// do sends one request through the gate client; token says which of the
// pack's credentials it carries (o.Token, o.AdminToken or none).
func (o Options) do(ctx context.Context, method, path, token, accept string, body []byte) (*response, error) {
	cred := gateapi.NoToken
	switch {
	case token == "":
	case token == o.AdminToken:
		cred = gateapi.AdminTok
	default:
		cred = gateapi.MetricsTok
	}
	r, err := o.api.Do(ctx, method, path, cred, accept, body)
	if r == nil {
		return nil, err
	}
	return &response{code: r.Code, header: r.Header, body: r.Body, took: r.Took}, err
}

func (o Options) get(ctx context.Context, path, token, accept string) (*response, error) {
	return o.do(ctx, http.MethodGet, path, token, accept, nil)
}

func status(r *response) string {
	if r.code == http.StatusTooManyRequests {
		return "429: the token's rate limit is too low for the smoke pack (give it about 60/min)"
	}
	if r.code == http.StatusUnauthorized {
		return "401: the token is not accepted"
	}
	return fmt.Sprintf("status %d", r.code)
}

func (o Options) format(ctx context.Context) (string, string) {
	golden := map[string]string{}
	for _, line := range strings.Split(fixtures.GoldenFamilies, "\n") {
		if f := strings.Fields(line); len(f) == 2 && !strings.HasPrefix(line, "#") {
			golden[f[0]] = f[1]
		}
	}
	var got map[string]string
	for _, accept := range []string{"", "application/openmetrics-text; version=1.0.0"} {
		r, err := o.get(ctx, "/metrics", o.Token, accept)
		if err != nil {
			return Fail, err.Error()
		}
		if r.code != 200 {
			return Fail, status(r)
		}
		mfs, err := integrity.Parse(r.body, r.header.Get("Content-Type"))
		if err != nil {
			return Fail, fmt.Sprintf("%s does not parse: %v", r.header.Get("Content-Type"), err)
		}
		if got == nil {
			got = map[string]string{}
			for _, mf := range mfs {
				got[mf.GetName()] = strings.ToLower(mf.GetType().String())
			}
		}
	}
	var missing []string
	for name, typ := range golden {
		if got[name] != typ {
			missing = append(missing, fmt.Sprintf("%s (%s, got %q)", name, typ, got[name]))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		return Fail, "golden families missing or mistyped: " + strings.Join(missing, ", ")
	}
	return Pass, fmt.Sprintf("text and OpenMetrics parse; all %d golden families present", len(golden))
}

const trafficRequests = 30

func (o Options) traffic(ctx context.Context) (string, string, []time.Duration) {
	before, err := o.api.Sum(ctx, metrics.Requests)
	if err != nil {
		return Fail, "read the counter: " + err.Error(), nil
	}
	var lat []time.Duration
	codes := map[int]int{}
	for range trafficRequests {
		r, err := o.get(ctx, "/metrics", o.Token, "")
		if err != nil {
			return Fail, err.Error(), lat
		}
		codes[r.code]++
		lat = append(lat, r.took)
	}
	after, err := o.api.Sum(ctx, metrics.Requests)
	if err != nil {
		return Fail, "read the counter: " + err.Error(), lat
	}
	if codes[200] != trafficRequests {
		return Fail, fmt.Sprintf("codes %v: not every request answered 200", codes), lat
	}
	if moved := after - before; moved != trafficRequests {
		return Fail, fmt.Sprintf("sent %d, quannex_metrics_requests_total moved by %.0f", trafficRequests, moved), lat
	}
	return Pass, fmt.Sprintf("sent %d, quannex_metrics_requests_total moved by %d", trafficRequests, trafficRequests), lat
}

func (o Options) source(ctx context.Context) (string, string) {
	r, err := o.get(ctx, "/metrics", o.Token, "")
	if err != nil {
		return Fail, err.Error()
	}
	if r.code != 200 {
		return Fail, status(r)
	}
	switch src := r.header.Get("X-Metrics-Source"); src {
	case "live":
		return Pass, "X-Metrics-Source: live"
	case "snapshot":
		return Fail, fmt.Sprintf("serving the snapshot (reason %s, Age %ss): the gate is falling back", r.header.Get("X-Metrics-Fallback-Reason"), r.header.Get("Age"))
	default:
		return Fail, fmt.Sprintf("X-Metrics-Source %q", src)
	}
}

func (o Options) forced(ctx context.Context) (string, string) {
	if o.AdminToken == "" {
		return Skip, "skipped: no admin token given (--admin-token-file), so no fault can be injected"
	}
	r, err := o.do(ctx, http.MethodPost, "/admin/faults/failure", o.AdminToken, "", []byte(`{"count":3,"ttl":"30s"}`))
	if err != nil {
		return Fail, err.Error()
	}
	if r.code == http.StatusNotFound {
		return Skip, "skipped: the gate was not started with --enable-fault-injection"
	}
	if r.code != http.StatusCreated {
		return Fail, "inject: " + status(r)
	}
	// The pack runs against gates in service: whichever way this check
	// ends, leave no failure armed and the breaker closed.
	restored := false
	defer func() {
		if !restored {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			o.restore(ctx)
		}
	}()
	for i := range 3 {
		r, err := o.get(ctx, "/metrics", o.Token, "")
		if err != nil {
			return Fail, err.Error()
		}
		if r.code != 200 || r.header.Get("X-Metrics-Source") != "snapshot" || !strings.HasPrefix(r.header.Get("Warning"), "110") {
			return Fail, fmt.Sprintf("failure %d: %s, source %q, Warning %q", i+1, status(r), r.header.Get("X-Metrics-Source"), r.header.Get("Warning"))
		}
		if err := integrity.VerifyReprDigest(r.header.Get("Repr-Digest"), r.body); err != nil {
			return Fail, "snapshot Repr-Digest: " + err.Error()
		}
	}
	// Three failures opened the breaker; close it rather than wait.
	restored = true
	if err := o.restore(ctx); err != nil {
		return Fail, err.Error()
	}
	r, err = o.get(ctx, "/metrics", o.Token, "")
	if err != nil {
		return Fail, err.Error()
	}
	if r.header.Get("X-Metrics-Source") != "live" {
		return Fail, fmt.Sprintf("not live again after the failures: %q", r.header.Get("X-Metrics-Source"))
	}
	return Pass, "3 injected failures gave snapshots with Warning: 110, then live again"
}

// restore clears any injected failure left and closes the breaker.
func (o Options) restore(ctx context.Context) error {
	for _, step := range []struct{ method, path string }{
		{http.MethodDelete, "/admin/faults/failure"},
		{http.MethodPost, "/admin/breaker/reset"},
	} {
		r, err := o.do(ctx, step.method, step.path, o.AdminToken, "", nil)
		if err != nil {
			return fmt.Errorf("restore: %s %s: %w", step.method, step.path, err)
		}
		if r.code != http.StatusOK {
			return fmt.Errorf("restore: %s %s: %s", step.method, step.path, status(r))
		}
	}
	return nil
}

func (o Options) final(ctx context.Context, lat []time.Duration) (string, string) {
	r, err := o.get(ctx, "/metrics", o.Token, "")
	if err != nil {
		return Fail, err.Error()
	}
	var problems []string
	if r.code != 200 {
		problems = append(problems, status(r))
	}
	if err := integrity.VerifyLiveSHA(r.body); err != nil {
		problems = append(problems, "LIVESHA: "+err.Error())
	}
	if err := integrity.VerifyReprDigest(r.header.Get("Repr-Digest"), r.body); err != nil {
		problems = append(problems, "Repr-Digest: "+err.Error())
	}
	for _, h := range []string{"RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if r.header.Get(h) == "" {
			problems = append(problems, "no "+h+" header")
		}
	}
	p95 := load.Quantile(lat, 0.95)
	if len(lat) == 0 || p95 > 200*time.Millisecond {
		problems = append(problems, fmt.Sprintf("p95 %s over 200 ms", p95))
	}
	if p := o.selftest(ctx); p != "" {
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		return Fail, strings.Join(problems, "; ")
	}
	return Pass, fmt.Sprintf("200, LIVESHA and Repr-Digest verify, rate-limit headers present, p95 %s, selftest ok", p95.Round(time.Microsecond))
}

// selftest returns "" when /metrics/selftest answers 200 with status "ok",
// else what it observed. The body is decoded: its checks carry statuses of
// their own, so "ok" found anywhere in it proves nothing.
func (o Options) selftest(ctx context.Context) string {
	r, err := o.get(ctx, "/metrics/selftest", o.Token, "")
	if err != nil {
		return "selftest: " + err.Error()
	}
	var st struct {
		Status string `json:"status"`
	}
	switch err := json.Unmarshal(r.body, &st); {
	case err != nil && r.code != http.StatusOK:
		return "selftest: " + status(r)
	case err != nil:
		return fmt.Sprintf("selftest: HTTP 200 but the body is not JSON: %v", err)
	case r.code != http.StatusOK || st.Status != "ok":
		return fmt.Sprintf("selftest: status %q with HTTP %d, want \"ok\" with 200", st.Status, r.code)
	}
	return ""
}
