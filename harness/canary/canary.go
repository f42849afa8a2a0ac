// Package canary is the canary gate of a rollout: it compares the snapshot
// ratio (responses served from the fallback over all payload responses) of
// the canary pods with the stable ones over a window, through the
// Prometheus HTTP API, and decides pass, abort or inconclusive. Missing
// data, NaN, or too few requests on either side is inconclusive, never a
// pass.
package canary

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/harness/promserver"
)

// Decisions.
const (
	Pass         = "pass"
	Abort        = "abort"
	Inconclusive = "inconclusive"
)

// Options configure Evaluate.
type Options struct {
	Prometheus  string        // base URL of the Prometheus HTTP API
	Stable      string        // label matchers of the stable pods: job="gate",track="stable"
	Canary      string        // label matchers of the canary pods
	Window      time.Duration // 15m
	MaxDelta    float64       // 0.02: abort when canary > stable + 2 points
	MinRequests float64       // each side needs this many requests in the window
	Timeout     time.Duration
	// TLS, if set, is the client TLS config for an https:// Prometheus
	// (its CA, a client certificate).
	TLS *tls.Config
}

// Side is what was measured for one side.
type Side struct {
	Selector      string  `json:"selector"`
	Requests      float64 `json:"requests"`
	SnapshotRatio float64 `json:"snapshot_ratio"`
	Query         string  `json:"query"`
}

// Result is the decision and the evidence.
type Result struct {
	Decision string  `json:"decision"`
	Reason   string  `json:"reason"`
	Stable   Side    `json:"stable"`
	Canary   Side    `json:"canary"`
	Delta    float64 `json:"delta"`
	MaxDelta float64 `json:"max_delta"`
	Window   string  `json:"window"`
}

// ErrQuery is returned when Prometheus cannot be queried; callers map it to
// a distinct exit code. It is the Prometheus client's own (promserver).
var ErrQuery = promserver.ErrQuery

// Validate checks the options, naming the flag.
func (o Options) Validate() error {
	p := parser.NewParser(parser.Options{})
	switch {
	case o.Prometheus == "":
		return errors.New("--prometheus: required")
	case o.Window < time.Minute:
		return errors.New("--window: must be at least 1m")
	case !(o.MaxDelta >= 0 && o.MaxDelta < 1): // NaN too: no delta exceeds it, so every canary would pass
		return errors.New("--max-delta: must be between 0 and 1, such as 0.02")
	case !(o.MinRequests >= 0): // NaN too: no count is below it, so too few would never be inconclusive
		return errors.New("--min-requests: must not be negative")
	}
	for flag, sel := range map[string]string{"--stable": o.Stable, "--canary": o.Canary} {
		if strings.TrimSpace(sel) == "" {
			return fmt.Errorf("%s: required, label matchers such as job=\"gate\",track=\"stable\"", flag)
		}
		if _, err := p.ParseExpr(RequestsQuery(sel, time.Minute)); err != nil {
			return fmt.Errorf("%s: not a label matcher list: %v", flag, err)
		}
	}
	if o.Stable == o.Canary {
		return errors.New("--canary: must differ from --stable")
	}
	return nil
}

func matchers(sel string) string {
	sel = strings.TrimSpace(sel)
	sel = strings.TrimSuffix(strings.TrimPrefix(sel, "{"), "}")
	return sel
}

// RatioQuery is the snapshot ratio of the pods matching sel over w.
func RatioQuery(sel string, w time.Duration) string {
	m := matchers(sel)
	// "or vector(0)": pods that never fell back may have no snapshot series.
	return fmt.Sprintf(`(sum(increase(%[1]s{source="snapshot",%[2]s}[%[3]s])) or vector(0)) / sum(increase(%[1]s{source=~"live|snapshot",%[2]s}[%[3]s]))`,
		metrics.Requests, m, model.Duration(w))
}

// RequestsQuery is the number of payload responses of the pods matching sel over w.
func RequestsQuery(sel string, w time.Duration) string {
	return fmt.Sprintf(`sum(increase(%s{source=~"live|snapshot",%s}[%s]))`, metrics.Requests, matchers(sel), model.Duration(w))
}

// Evaluate queries Prometheus and decides.
func Evaluate(ctx context.Context, o Options) (*Result, error) {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	promAPI := newAPI(o.Prometheus, o.TLS, o.Timeout)
	now := time.Now()
	res := &Result{MaxDelta: o.MaxDelta, Window: model.Duration(o.Window).String()}
	for _, side := range []struct {
		sel string
		out *Side
	}{{o.Stable, &res.Stable}, {o.Canary, &res.Canary}} {
		side.out.Selector = side.sel
		side.out.Query = RatioQuery(side.sel, o.Window)
		ratio, okR, err := promAPI.Scalar(ctx, side.out.Query, now)
		if err != nil {
			return nil, err
		}
		reqs, okN, err := promAPI.Scalar(ctx, RequestsQuery(side.sel, o.Window), now)
		if err != nil {
			return nil, err
		}
		side.out.Requests, side.out.SnapshotRatio = reqs, ratio
		switch {
		case !okN || !okR:
			res.Decision, res.Reason = Inconclusive, fmt.Sprintf("no data for %s in the last %s", side.sel, res.Window)
			return res, nil
		case math.IsNaN(ratio) || math.IsInf(ratio, 0):
			res.Decision, res.Reason = Inconclusive, fmt.Sprintf("the snapshot ratio of %s is not a number (no requests?)", side.sel)
			return res, nil
		case reqs < o.MinRequests:
			res.Decision, res.Reason = Inconclusive, fmt.Sprintf("%s served %.0f requests in %s, fewer than --min-requests %.0f", side.sel, reqs, res.Window, o.MinRequests)
			return res, nil
		}
	}
	res.Delta = res.Canary.SnapshotRatio - res.Stable.SnapshotRatio
	if res.Delta > o.MaxDelta {
		res.Decision = Abort
		res.Reason = fmt.Sprintf("canary snapshot ratio %.2f%% exceeds stable %.2f%% by %.2f points (max %.2f)",
			res.Canary.SnapshotRatio*100, res.Stable.SnapshotRatio*100, res.Delta*100, o.MaxDelta*100)
		return res, nil
	}
	res.Decision = Pass
	res.Reason = fmt.Sprintf("canary snapshot ratio %.2f%%, stable %.2f%%: within %.2f points", res.Canary.SnapshotRatio*100, res.Stable.SnapshotRatio*100, o.MaxDelta*100)
	return res, nil
}

// newAPI is the Prometheus client of the gate: the harness's one
// (promserver.API), with the TLS of an https:// Prometheus and a bound on
// every query.
func newAPI(url string, tlsCfg *tls.Config, timeout time.Duration) promserver.API {
	c := &http.Client{Timeout: timeout}
	if tlsCfg != nil {
		c.Transport = &http.Transport{TLSClientConfig: tlsCfg.Clone()}
	}
	return promserver.API{URL: url, HTTP: c}
}

// Count runs an instant query against the Prometheus at url and returns how
// many series it returned (an slo.Querier).
func Count(url string, timeout time.Duration) func(ctx context.Context, q string) (int, error) {
	return func(ctx context.Context, q string) (int, error) {
		vec, err := newAPI(url, nil, timeout).Vector(ctx, q, time.Now())
		return len(vec), err
	}
}
