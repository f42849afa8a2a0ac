package promserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/quannex/gameday/harness/alerts"
)

// API is the harness's one client of a Prometheus server's HTTP API: a
// server Start ran, or one the harness did not start (gameday run
// --prometheus, the canary gate, a staging stack). Queries go through
// client_golang's api/v1, so answers are typed and errors decoded in one
// place; it knows the reads the harness needs on top: readiness, one
// number, raw samples, the alerts raised (from the ALERTS series), the
// rules loaded and the targets scraped.
type API struct {
	URL  string       // base URL, such as http://127.0.0.1:9090
	HTTP *http.Client // nil: a client with a 10 s timeout
	// Interval is the server's rule evaluation interval: Alerts counts an
	// alert inactive from one interval after its last sample. RuleInterval
	// reads it from a server whose configuration the harness did not write.
	Interval time.Duration
}

// ErrQuery wraps every failed query: the server did not answer, or
// answered an error.
var ErrQuery = errors.New("prometheus query failed")

func (p API) client() *http.Client {
	if p.HTTP != nil {
		return p.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (p API) v1() (v1.API, error) {
	c, err := api.NewClient(api.Config{Address: p.URL, Client: p.client()})
	if err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
	}
	return v1.NewAPI(c), nil
}

// get fetches path and returns the body of a 200 answer (or of a 400 or
// 422, which carry the API's error).
func (p API) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
		return nil, fmt.Errorf("%s: %s", path, resp.Status)
	}
	return body, nil
}

// Ready checks /-/ready answers 200 (Prometheus and Alertmanager both
// serve it).
func (p API) Ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/-/ready", nil)
	if err != nil {
		return err
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/-/ready: %s", resp.Status)
	}
	return nil
}

// Query runs an instant query at at.
func (p API) Query(ctx context.Context, q string, at time.Time) (model.Value, error) {
	a, err := p.v1()
	if err != nil {
		return nil, err
	}
	v, _, _, err := a.Query(ctx, q, at)
	if err != nil {
		return nil, fmt.Errorf("promserver: %w: %s: %v", ErrQuery, q, err)
	}
	return v, nil
}

// Vector runs an instant query whose answer must be a vector.
func (p API) Vector(ctx context.Context, q string, at time.Time) (model.Vector, error) {
	v, err := p.Query(ctx, q, at)
	if err != nil {
		return nil, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("promserver: %w: %s answered a %s, not a vector", ErrQuery, q, v.Type())
	}
	return vec, nil
}

// Scalar runs an instant query whose answer is one number: a scalar, or a
// vector of one sample (such as a sum(...)). ok is false when the vector
// is empty, which every caller reads as "no such series" rather than
// zero; more than one sample is an error.
func (p API) Scalar(ctx context.Context, q string, at time.Time) (v float64, ok bool, err error) {
	val, err := p.Query(ctx, q, at)
	if err != nil {
		return 0, false, err
	}
	switch val := val.(type) {
	case *model.Scalar:
		return float64(val.Value), true, nil
	case model.Vector:
		switch len(val) {
		case 0:
			return 0, false, nil
		case 1:
			return float64(val[0].Value), true, nil
		}
		return 0, false, fmt.Errorf("promserver: %w: %s answered %d samples, want one", ErrQuery, q, len(val))
	}
	return 0, false, fmt.Errorf("promserver: %w: %s answered a %s, not a number", ErrQuery, q, val.Type())
}

// Samples runs a range selector (such as up{job="x"}[30s]) at at and
// returns every raw sample of every series it selects, with the exact
// timestamps Prometheus stored.
func (p API) Samples(ctx context.Context, selector string, at time.Time) (model.Matrix, error) {
	v, err := p.Query(ctx, selector, at)
	if err != nil {
		return nil, err
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("promserver: %w: %s answered a %s, not a range of samples", ErrQuery, selector, v.Type())
	}
	return m, nil
}

// AwaitScrapesPast waits until every up series that matchers select (such
// as instance="gate:3000"; empty: all) has a sample at or after at: the
// scrapes that began before at are then stored, and a range query ending
// at at reads them all. It polls until they do, ctx ends or wait passes,
// and reports whether they did; a matcher that selects no series never
// does.
func (p API) AwaitScrapesPast(ctx context.Context, matchers string, at time.Time, wait time.Duration) (bool, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	q := fmt.Sprintf("min(timestamp(up{%s}))", matchers)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		v, ok, err := p.Scalar(ctx, q, time.Now())
		switch {
		case parent.Err() != nil:
			return false, parent.Err()
		case ctx.Err() != nil:
			return false, nil
		case err != nil:
			return false, err
		case ok && v >= float64(at.UnixMilli())/1000:
			return true, nil
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// ErrNoRule is returned by RuleInterval when none of the named alerting
// rules is loaded.
var ErrNoRule = errors.New("no such alerting rule loaded")

// RuleInterval reads the rules the server has loaded and returns the
// longest evaluation interval of the groups that hold an alerting rule
// named in names; missing lists the names no group holds.
func (p API) RuleInterval(ctx context.Context, names []string) (interval time.Duration, missing []string, err error) {
	a, err := p.v1()
	if err != nil {
		return 0, nil, err
	}
	res, err := a.Rules(ctx, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("promserver: rules: %w", err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := map[string]bool{}
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			ar, ok := r.(v1.AlertingRule)
			if ok && want[ar.Name] {
				found[ar.Name] = true
				interval = max(interval, time.Duration(g.Interval*float64(time.Second)))
			}
		}
	}
	for _, n := range names {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(found) == 0 {
		return 0, missing, fmt.Errorf("promserver: rules: %w", ErrNoRule)
	}
	return interval, missing, nil
}

// ScrapeTarget is one active target of the server.
type ScrapeTarget struct {
	Labels         map[string]string // job, instance and the target's other labels
	ScrapeURL      string
	ScrapeInterval time.Duration
	ScrapeTimeout  time.Duration
	Health         string // up, down or unknown
	LastError      string
}

// Targets lists the server's active scrape targets. They are decoded here
// rather than by api/v1, whose ActiveTarget has no scrape interval or
// timeout.
func (p API) Targets(ctx context.Context) ([]ScrapeTarget, error) {
	body, err := p.get(ctx, "/api/v1/targets?state=active")
	if err != nil {
		return nil, fmt.Errorf("promserver: targets: %w", err)
	}
	var ans struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ActiveTargets []struct {
				Labels         map[string]string `json:"labels"`
				ScrapeURL      string            `json:"scrapeUrl"`
				ScrapeInterval string            `json:"scrapeInterval"`
				ScrapeTimeout  string            `json:"scrapeTimeout"`
				Health         string            `json:"health"`
				LastError      string            `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("promserver: targets: %w", err)
	}
	if ans.Status != "success" {
		return nil, fmt.Errorf("promserver: targets: %s", ans.Error)
	}
	out := make([]ScrapeTarget, 0, len(ans.Data.ActiveTargets))
	for _, t := range ans.Data.ActiveTargets {
		iv, _ := time.ParseDuration(t.ScrapeInterval) // absent before Prometheus 2.33: 0
		to, _ := time.ParseDuration(t.ScrapeTimeout)
		out = append(out, ScrapeTarget{Labels: t.Labels, ScrapeURL: t.ScrapeURL, ScrapeInterval: iv, ScrapeTimeout: to,
			Health: t.Health, LastError: t.LastError})
	}
	return out, nil
}

// AlertState is one alert the server holds now (a sample of ALERTS).
type AlertState struct {
	Name   string
	Labels map[string]string // without alertname and alertstate
	State  string            // pending or firing
}

// AlertStates lists the alerts the server holds pending or firing now,
// restricted by matchers (such as instance="gate:3000"; empty: all),
// sorted by name and labels.
func (p API) AlertStates(ctx context.Context, matchers string) ([]AlertState, error) {
	vec, err := p.Vector(ctx, "ALERTS{"+matchers+"}", time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]AlertState, 0, len(vec))
	for _, s := range vec {
		l := labelMap(s.Metric)
		st := l["alertstate"]
		delete(l, "alertstate")
		name := l["alertname"]
		delete(l, "alertname")
		out = append(out, AlertState{Name: name, Labels: l, State: st})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return alerts.LabelsKey(out[i].Labels) < alerts.LabelsKey(out[j].Labels)
	})
	return out, nil
}

// Alerts returns the timeline of every alert (name and label set) the
// server raised from since to until, read from the server's own ALERTS
// series (restricted by matchers, such as instance="gate:3000"; empty:
// all): the raw samples of a range query carry the exact evaluation
// timestamps. An alert is inactive from one evaluation interval after its
// last sample; an alert still raised at until has no resolution.
func (p API) Alerts(ctx context.Context, since, until time.Time, matchers string) ([]alerts.Timeline, error) {
	if p.Interval <= 0 {
		return nil, errors.New("promserver: ALERTS: no evaluation interval")
	}
	rng := until.Sub(since).Truncate(time.Second) + time.Second
	m, err := p.Samples(ctx, fmt.Sprintf("ALERTS{%s}[%ds]", matchers, int(rng.Seconds())), until)
	if err != nil {
		return nil, err
	}
	type sample struct {
		at    time.Time
		state string
	}
	byKey := map[string][]sample{}
	labelsOf := map[string]map[string]string{}
	for _, series := range m {
		l := labelMap(series.Metric)
		state := l["alertstate"]
		delete(l, "alertstate")
		delete(l, "__name__")
		k := alerts.LabelsKey(l)
		labelsOf[k] = l
		for _, v := range series.Values {
			byKey[k] = append(byKey[k], sample{v.Timestamp.Time().UTC(), state})
		}
	}
	interval := p.Interval
	out := make([]alerts.Timeline, 0, len(byKey))
	for k, ss := range byKey {
		sort.Slice(ss, func(i, j int) bool { return ss[i].at.Before(ss[j].at) })
		l := labelsOf[k]
		a := alerts.Timeline{Name: l["alertname"], Severity: l["severity"], Labels: map[string]string{}}
		for k, v := range l {
			if k != "alertname" {
				a.Labels[k] = v
			}
		}
		state := alerts.StateInactive
		move := func(to string, at time.Time) {
			a.Move(state, to, at)
			state = to
		}
		for i, smp := range ss {
			// A gap of more than an interval and a half between samples is
			// an evaluation at which the alert was not raised.
			if i > 0 && smp.at.Sub(ss[i-1].at) > interval*3/2 {
				move(alerts.StateInactive, ss[i-1].at.Add(interval))
			}
			if smp.state != state {
				move(smp.state, smp.at)
			}
		}
		if last := ss[len(ss)-1].at; until.Sub(last) > interval*3/2 {
			move(alerts.StateInactive, last.Add(interval))
		}
		out = append(out, a)
	}
	alerts.Sort(out)
	return out, nil
}

// labelMap turns a metric's labels into a map.
func labelMap(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

// Matchers renders label matchers for a selector: name="value",... in a
// stable order.
func Matchers(labels map[string]string) string {
	ks := make([]string, 0, len(labels))
	for k := range labels {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	parts := make([]string, 0, len(ks))
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return strings.Join(parts, ",")
}
