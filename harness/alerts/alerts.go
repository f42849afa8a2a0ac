// Package alerts evaluates the production alert rules against what the
// harness scraped, with the real Prometheus machinery: samples go into an
// in-process TSDB and every rule group in the rules file is evaluated by
// the Prometheus rules engine at each scrape. It records each alert's
// pending, firing and resolved times.
//
// Scraping (HTTP) is the caller's job; this package takes payloads.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/reports"
)

// Alert states as recorded.
const (
	StateInactive = "inactive"
	StatePending  = "pending"
	StateFiring   = "firing"
)

// Evaluator holds the TSDB and the loaded rule groups.
type Evaluator struct {
	dir    string
	db     *tsdb.DB
	engine *promql.Engine
	groups []*rules.Group
	labels labels.Labels // job and instance added to every sample

	mu       sync.Mutex
	timeline map[string]*reports.Alert
	state    map[string]string
	severity map[string]string
}

// Options configure New.
type Options struct {
	RulesFile string
	Interval  time.Duration // evaluation interval, the scrape interval
	Job       string
	Instance  string
	Logger    *slog.Logger
}

// New opens a TSDB in a fresh temporary directory and loads the rules. A
// rules file that does not load is an error naming the file and the rule.
func New(ctx context.Context, o Options) (*Evaluator, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
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
	e := &Evaluator{dir: dir, db: db, engine: engine, labels: labels.FromStrings("job", o.Job, "instance", o.Instance),
		timeline: map[string]*reports.Alert{}, state: map[string]string{}, severity: map[string]string{}}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.groups = append(e.groups, groups[k])
		for _, r := range groups[k].AlertingRules() {
			e.state[r.Name()] = StateInactive
			e.severity[r.Name()] = r.Labels().Get("severity")
		}
	}
	if len(e.state) == 0 {
		e.Close()
		return nil, fmt.Errorf("alerts: %s has no alerting rules", o.RulesFile)
	}
	return e, nil
}

// Names lists the alerting rules loaded.
func (e *Evaluator) Names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.state))
	for n := range e.state {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Ingest appends a scraped payload at ts, with `up` set to 1, or, when
// payload is nil (the scrape failed), `up` 0 alone.
func (e *Evaluator) Ingest(payload []byte, contentType string, ts time.Time) error {
	t := ts.UnixMilli()
	app := e.db.Appender(context.Background())
	up := 0.0
	if payload != nil {
		vec, err := integrity.Samples(payload, contentType)
		if err != nil {
			app.Rollback()
			return err
		}
		for _, s := range vec {
			b := labels.NewBuilder(e.labels)
			for k, v := range s.Metric {
				b.Set(string(k), string(v))
			}
			if _, err := app.Append(0, b.Labels(), t, float64(s.Value)); err != nil {
				app.Rollback()
				return fmt.Errorf("alerts: append %s: %w", s.Metric, err)
			}
		}
		up = 1
	}
	b := labels.NewBuilder(e.labels)
	b.Set("__name__", "up")
	if _, err := app.Append(0, b.Labels(), t, up); err != nil {
		app.Rollback()
		return fmt.Errorf("alerts: append up: %w", err)
	}
	return app.Commit()
}

// Transition is a change of an alert's state.
type Transition struct {
	Alert    string
	From, To string
	At       time.Time
}

// Eval evaluates every group at ts and returns the state changes.
func (e *Evaluator) Eval(ctx context.Context, ts time.Time) []Transition {
	for _, g := range e.groups {
		g.Eval(ctx, ts)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Transition
	for _, g := range e.groups {
		for _, r := range g.AlertingRules() {
			name, now := r.Name(), StateInactive
			for _, a := range r.ActiveAlerts() {
				switch a.State {
				case rules.StateFiring:
					now = StateFiring
				case rules.StatePending:
					if now != StateFiring {
						now = StatePending
					}
				}
			}
			before := e.state[name]
			if now == before {
				continue
			}
			e.state[name] = now
			out = append(out, Transition{Alert: name, From: before, To: now, At: ts})
			tl := e.timeline[name]
			if tl == nil {
				tl = &reports.Alert{Name: name, Severity: e.severity[name]}
				e.timeline[name] = tl
			}
			at := ts.UTC()
			switch {
			case now == StatePending && tl.PendingAt == nil:
				tl.PendingAt = &at
			case now == StateFiring && tl.FiringAt == nil:
				tl.FiringAt = &at
				if tl.PendingAt == nil {
					tl.PendingAt = &at
				}
			case now == StateInactive && tl.FiringAt != nil:
				tl.ResolvedAt = &at
			}
		}
	}
	return out
}

// States returns the current state of every alert.
func (e *Evaluator) States() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(e.state))
	for k, v := range e.state {
		out[k] = v
	}
	return out
}

// Timeline returns every alert that left the inactive state, by name.
func (e *Evaluator) Timeline() []reports.Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]reports.Alert, 0, len(e.timeline))
	for _, a := range e.timeline {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
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
