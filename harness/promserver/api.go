package promserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/quannex/gameday/reports"
)

// API reads a Prometheus server's HTTP API: one Start ran, or one the
// harness did not start (gameday run --prometheus, a staging stack). It
// knows the queries the harness needs: readiness, instant queries, the
// alerts raised (from the ALERTS series), the rules loaded and the targets
// scraped.
type API struct {
	URL  string       // base URL, such as http://127.0.0.1:9090
	HTTP *http.Client // nil: a client with a 10 s timeout
	// Interval is the server's rule evaluation interval: Alerts counts an
	// alert inactive from one interval after its last sample. RuleInterval
	// reads it from a server whose configuration the harness did not write.
	Interval time.Duration
}

func (p API) client() *http.Client {
	if p.HTTP != nil {
		return p.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// get fetches path and returns the body of a 200 answer.
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

// data decodes the API's envelope and returns its "data".
func data(path string, body []byte) (json.RawMessage, error) {
	var ans struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if ans.Status != "success" {
		return nil, fmt.Errorf("%s: %s", path, ans.Error)
	}
	return ans.Data, nil
}

// Query runs an instant query and returns the raw "data" of the answer.
func (p API) Query(ctx context.Context, q string, at time.Time) (json.RawMessage, error) {
	v := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	body, err := p.get(ctx, "/api/v1/query?"+v.Encode())
	if err != nil {
		return nil, fmt.Errorf("promserver: query: %w", err)
	}
	d, err := data("query "+q, body)
	if err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
	}
	return d, nil
}

// Scalar runs an instant query whose answer is one sample (such as a
// sum(...)) and returns its value; ok is false when the answer is empty.
func (p API) Scalar(ctx context.Context, q string, at time.Time) (v float64, ok bool, err error) {
	d, err := p.Query(ctx, q, at)
	if err != nil {
		return 0, false, err
	}
	var m struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(d, &m); err != nil {
		return 0, false, fmt.Errorf("promserver: query %s: %w", q, err)
	}
	if len(m.Result) == 0 {
		return 0, false, nil
	}
	s, _ := m.Result[0].Value[1].(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("promserver: query %s: value %q", q, s)
	}
	return f, true, nil
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
	body, err := p.get(ctx, "/api/v1/rules?type=alert")
	if err != nil {
		return 0, nil, fmt.Errorf("promserver: rules: %w", err)
	}
	d, err := data("rules", body)
	if err != nil {
		return 0, nil, fmt.Errorf("promserver: %w", err)
	}
	var m struct {
		Groups []struct {
			Interval float64 `json:"interval"`
			Rules    []struct {
				Name string `json:"name"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(d, &m); err != nil {
		return 0, nil, fmt.Errorf("promserver: rules: %w", err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := map[string]bool{}
	for _, g := range m.Groups {
		for _, r := range g.Rules {
			if want[r.Name] {
				found[r.Name] = true
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
	ScrapeInterval time.Duration
	Health         string // up, down or unknown
}

// Targets lists the server's active scrape targets.
func (p API) Targets(ctx context.Context) ([]ScrapeTarget, error) {
	body, err := p.get(ctx, "/api/v1/targets?state=active")
	if err != nil {
		return nil, fmt.Errorf("promserver: targets: %w", err)
	}
	d, err := data("targets", body)
	if err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
	}
	var m struct {
		ActiveTargets []struct {
			Labels         map[string]string `json:"labels"`
			ScrapeInterval string            `json:"scrapeInterval"`
			Health         string            `json:"health"`
		} `json:"activeTargets"`
	}
	if err := json.Unmarshal(d, &m); err != nil {
		return nil, fmt.Errorf("promserver: targets: %w", err)
	}
	out := make([]ScrapeTarget, 0, len(m.ActiveTargets))
	for _, t := range m.ActiveTargets {
		iv, _ := time.ParseDuration(t.ScrapeInterval) // absent before Prometheus 2.33: 0
		out = append(out, ScrapeTarget{Labels: t.Labels, ScrapeInterval: iv, Health: t.Health})
	}
	return out, nil
}

// Alerts returns the timeline of every alert (name and label set) the
// server raised from since to until, in the harness's report form, read
// from the server's own ALERTS series (restricted by matchers, such as
// instance="gate:3000"; empty: all): the raw samples of a range query
// carry the exact evaluation timestamps. An alert is inactive from one
// evaluation interval after its last sample; an alert still raised at
// until has no resolution.
func (p API) Alerts(ctx context.Context, since, until time.Time, matchers string) ([]reports.Alert, error) {
	if p.Interval <= 0 {
		return nil, errors.New("promserver: ALERTS: no evaluation interval")
	}
	rng := until.Sub(since).Truncate(time.Second) + time.Second
	data, err := p.Query(ctx, fmt.Sprintf("ALERTS{%s}[%ds]", matchers, int(rng.Seconds())), until)
	if err != nil {
		return nil, err
	}
	var m struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("promserver: ALERTS: %w", err)
	}
	type sample struct {
		at    time.Time
		state string
	}
	byKey := map[string][]sample{}
	labelsOf := map[string]map[string]string{}
	for _, r := range m.Result {
		state := r.Metric["alertstate"]
		l := map[string]string{}
		for k, v := range r.Metric {
			if k != "alertstate" && k != "__name__" {
				l[k] = v
			}
		}
		k := key(l)
		labelsOf[k] = l
		for _, v := range r.Values {
			ts, ok := v[0].(float64)
			if !ok {
				return nil, fmt.Errorf("promserver: ALERTS: bad timestamp %v", v[0])
			}
			byKey[k] = append(byKey[k], sample{time.UnixMilli(int64(ts * 1000)).UTC(), state})
		}
	}
	interval := p.Interval
	var out []reports.Alert
	for k, ss := range byKey {
		sort.Slice(ss, func(i, j int) bool { return ss[i].at.Before(ss[j].at) })
		l := labelsOf[k]
		a := reports.Alert{Name: l["alertname"], Severity: l["severity"], Labels: map[string]string{}}
		for k, v := range l {
			if k != "alertname" {
				a.Labels[k] = v
			}
		}
		state := "inactive"
		move := func(to string, at time.Time) {
			a.Transitions = append(a.Transitions, reports.Transition{At: at, From: state, To: to})
			switch to {
			case "pending":
				if a.PendingAt == nil {
					a.PendingAt = &at
				}
			case "firing":
				a.Firings++
				if a.FiringAt == nil {
					a.FiringAt = &at
				}
				if a.PendingAt == nil {
					a.PendingAt = &at
				}
			case "inactive":
				if state == "firing" {
					a.ResolvedAt = &at
				}
			}
			state = to
		}
		for i, smp := range ss {
			// A gap of more than an interval and a half between samples is
			// an evaluation at which the alert was not raised.
			if i > 0 && smp.at.Sub(ss[i-1].at) > interval*3/2 {
				move("inactive", ss[i-1].at.Add(interval))
			}
			if smp.state != state {
				move(smp.state, smp.at)
			}
		}
		if last := ss[len(ss)-1].at; until.Sub(last) > interval*3/2 {
			move("inactive", last.Add(interval))
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return key(out[i].Labels) < key(out[j].Labels)
	})
	return out, nil
}
