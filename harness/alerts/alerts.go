// Package alerts evaluates the production alert rules against what the
// harness scraped, with the real Prometheus machinery: samples go into an
// in-process TSDB and every rule group in the rules file is evaluated by
// the Prometheus rules engine at each scrape. It records, per alert name
// and label set, every state transition (inactive, pending, firing).
//
// Scraping (HTTP) is the caller's job; this package takes payloads.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/quannex/gameday/gate/integrity"
)

// Alert states as recorded.
const (
	StateInactive = "inactive"
	StatePending  = "pending"
	StateFiring   = "firing"
)

// Evaluator holds the TSDB and the loaded rule groups.
type Evaluator struct {
	dir      string
	db       *tsdb.DB
	engine   *promql.Engine
	groups   []*rules.Group
	defaults Origin // job and instance for an Origin that leaves them empty

	mu       sync.Mutex
	names    []string           // alerting rules, sorted, unique
	series   map[string]*series // by alert name and label set
	severity map[string]string  // by alert name: the first rule's severity
	// scraped is each target's series of its last scrape, by label set:
	// what a failed scrape, or one that lacks some, marks stale.
	scraped map[string]map[string]labels.Labels
}

// series is the timeline of one alert (name and label set).
type series struct {
	state string
	alert Timeline
}

// Options configure New.
type Options struct {
	// Rules are the rules to evaluate (LoadRules); RulesFile, when Rules
	// is nil, names the file to load them from.
	Rules     *Rules
	RulesFile string
	Interval  time.Duration // evaluation interval, the scrape interval
	// Job and Instance label a payload whose Origin leaves them empty.
	Job      string
	Instance string
	Logger   *slog.Logger
}

// Origin names where a payload was scraped from: the job and instance
// labels Prometheus would attach to its samples and to its `up` series.
type Origin struct {
	Job      string
	Instance string
}

// New opens a TSDB in a fresh temporary directory and loads the rules. A
// rules file that does not load is an error naming the file and the rule.
func New(ctx context.Context, o Options) (*Evaluator, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rules != nil {
		o.RulesFile = o.Rules.File
	}
	dir, err := os.MkdirTemp("", "gameday-tsdb-*")
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = int64(24 * time.Hour / time.Millisecond)
	db, err := tsdb.Open(dir, nil, nil, opts, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("alerts: open tsdb: %w", err)
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 10_000_000, Timeout: 30 * time.Second, LookbackDelta: 5 * time.Minute})
	mgr := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(engine, db),
		AppendableV2: db,
		Queryable:    db,
		Context:      ctx,
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       o.Logger,
	})
	groups, errs := mgr.LoadGroups(o.Interval, labels.EmptyLabels(), "", nil, false, o.RulesFile)
	if len(errs) > 0 {
		db.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("alerts: load %s: %w", o.RulesFile, errors.Join(errs...))
	}
	e := &Evaluator{dir: dir, db: db, engine: engine, defaults: Origin{Job: o.Job, Instance: o.Instance},
		series: map[string]*series{}, severity: map[string]string{}, scraped: map[string]map[string]labels.Labels{}}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.groups = append(e.groups, groups[k])
		for _, r := range groups[k].AlertingRules() {
			// A Prometheus server marks its rules restored once it has
			// read their `for` state back from its TSDB, and only then
			// writes ALERTS and ALERTS_FOR_STATE. This TSDB starts
			// empty: there is nothing to restore, and stop conditions
			// (and anyone querying) read ALERTS as on a server.
			r.SetRestored(true)
			if _, ok := e.severity[r.Name()]; !ok {
				e.names = append(e.names, r.Name())
				e.severity[r.Name()] = r.Labels().Get("severity")
			}
		}
	}
	sort.Strings(e.names)
	if len(e.names) == 0 {
		e.Close()
		return nil, fmt.Errorf("alerts: %s has no alerting rules", o.RulesFile)
	}
	return e, nil
}

// Names lists the alerting rules loaded.
func (e *Evaluator) Names() []string {
	return append([]string(nil), e.names...)
}

// Ingest appends a payload scraped from t at ts, with `up` set to 1, or,
// when payload is nil (the scrape failed), `up` 0 alone. Every sample gets
// t's job and instance labels, as Prometheus attaches them; and, as
// Prometheus's scrape loop does, a series t's previous scrape had and this
// one lacks (all of them, when the scrape failed) gets a staleness marker,
// so that queries stop seeing it at once rather than for the 5-minute
// lookback. Ingest every job of an interval, then Eval once. Ingest is
// not safe for concurrent use.
func (e *Evaluator) Ingest(t Origin, payload []byte, contentType string, ts time.Time) error {
	if t.Job == "" {
		t.Job = e.defaults.Job
	}
	if t.Instance == "" {
		t.Instance = e.defaults.Instance
	}
	target := labels.FromStrings("job", t.Job, "instance", t.Instance)
	ms := ts.UnixMilli()
	app := e.db.Appender(context.Background())
	up := 0.0
	seen := map[string]labels.Labels{}
	if payload != nil {
		vec, err := integrity.Samples(payload, contentType)
		if err != nil {
			app.Rollback()
			return err
		}
		for _, s := range vec {
			b := labels.NewBuilder(target)
			for k, v := range s.Metric {
				b.Set(string(k), string(v))
			}
			ls := b.Labels()
			if _, err := app.Append(0, ls, ms, float64(s.Value)); err != nil {
				app.Rollback()
				return fmt.Errorf("alerts: append %s: %w", s.Metric, err)
			}
			seen[ls.String()] = ls
		}
		up = 1
	}
	key := target.String()
	for k, ls := range e.scraped[key] {
		if _, ok := seen[k]; ok {
			continue
		}
		if _, err := app.Append(0, ls, ms, math.Float64frombits(value.StaleNaN)); err != nil {
			app.Rollback()
			return fmt.Errorf("alerts: mark %s stale: %w", ls, err)
		}
	}
	e.scraped[key] = seen
	b := labels.NewBuilder(target)
	b.Set("__name__", "up")
	if _, err := app.Append(0, b.Labels(), ms, up); err != nil {
		app.Rollback()
		return fmt.Errorf("alerts: append up: %w", err)
	}
	return app.Commit()
}

// Change is a change of one alert's state: the alert is its name and
// label set (instance, job, severity, window, slo ...).
type Change struct {
	Alert    string
	Labels   map[string]string
	From, To string
	At       time.Time
}

// Eval evaluates every group at ts, each group's rules in order, as a
// Prometheus server does, and returns the state changes of every alert
// (name and label set), sorted.
func (e *Evaluator) Eval(ctx context.Context, ts time.Time) []Change {
	for _, g := range e.groups {
		g.Eval(ctx, ts)
	}
	now := map[string]string{}         // key -> state at ts
	lbls := map[string]labels.Labels{} // key -> labels
	for _, g := range e.groups {
		for _, r := range g.AlertingRules() {
			for _, a := range r.ActiveAlerts() {
				var st string
				switch a.State {
				case rules.StateFiring:
					st = StateFiring
				case rules.StatePending:
					st = StatePending
				default:
					continue
				}
				k := a.Labels.String()
				if worse(st, now[k]) {
					now[k] = st
				}
				lbls[k] = a.Labels
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	at := ts.UTC()
	var out []Change
	for k, st := range now {
		s := e.series[k]
		if s == nil {
			name := lbls[k].Get(labels.AlertName)
			s = &series{state: StateInactive, alert: Timeline{Name: name, Labels: labelMap(lbls[k]),
				Severity: lbls[k].Get("severity")}}
			if s.alert.Severity == "" {
				s.alert.Severity = e.severity[name]
			}
			e.series[k] = s
		}
		if s.state != st {
			out = append(out, s.move(st, at))
		}
	}
	for k, s := range e.series {
		if _, ok := now[k]; !ok && s.state != StateInactive {
			out = append(out, s.move(StateInactive, at))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Alert != out[j].Alert {
			return out[i].Alert < out[j].Alert
		}
		return LabelsKey(out[i].Labels) < LabelsKey(out[j].Labels)
	})
	return out
}

// move records a change of s to st at at.
func (s *series) move(st string, at time.Time) Change {
	from := s.state
	s.state = st
	s.alert.Move(from, st, at)
	return Change{Alert: s.alert.Name, Labels: maps.Clone(s.alert.Labels), From: from, To: st, At: at}
}

// worse reports whether state a is worse than b: firing > pending >
// inactive ("" counts as inactive).
func worse(a, b string) bool { return rank(a) > rank(b) }

func rank(s string) int {
	switch s {
	case StateFiring:
		return 2
	case StatePending:
		return 1
	}
	return 0
}

// labelMap turns an alert's labels into a map without the alert name
// (Timeline.Name holds it).
func labelMap(l labels.Labels) map[string]string {
	m := l.Map()
	delete(m, labels.AlertName)
	return m
}

// States returns, per alert name, the worst state of its label sets
// (firing > pending > inactive); every loaded alert is present.
func (e *Evaluator) States() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(e.names))
	for _, n := range e.names {
		out[n] = StateInactive
	}
	for _, s := range e.series {
		if worse(s.state, out[s.alert.Name]) {
			out[s.alert.Name] = s.state
		}
	}
	return out
}

// Timeline returns one entry per alert name and label set that left the
// inactive state, with every transition, sorted by name then labels.
func (e *Evaluator) Timeline() []Timeline {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Timeline, 0, len(e.series))
	for _, s := range e.series {
		a := s.alert
		a.Labels = maps.Clone(a.Labels)
		a.Transitions = append([]Transition(nil), a.Transitions...)
		out = append(out, a)
	}
	Sort(out)
	return out
}

// Query runs an instant PromQL query against what was ingested.
func (e *Evaluator) Query(ctx context.Context, q string, ts time.Time) (promql.Vector, error) {
	return rules.EngineQueryFunc(e.engine, e.db)(ctx, q, ts)
}

// Close closes the TSDB and removes its directory.
func (e *Evaluator) Close() error {
	err := e.db.Close()
	e.engine.Close()
	os.RemoveAll(e.dir)
	return err
}
