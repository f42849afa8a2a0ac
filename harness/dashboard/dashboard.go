// Package dashboard generates the operator dashboard
// (config/grafana-operator-dashboard.json) from typed structs. Every query
// names metrics through the constants of package metrics, the same ones
// the gate registers, so the dashboard cannot drift from what the gate
// exposes; a test parses every query and checks each metric against a live
// gate.
package dashboard

import (
	"encoding/json"
	"fmt"

	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/harness/slo"
)

// Dashboard is the subset of Grafana's dashboard model the gate uses.
type Dashboard struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	Tags          []string    `json:"tags"`
	Timezone      string      `json:"timezone"`
	SchemaVersion int         `json:"schemaVersion"`
	Refresh       string      `json:"refresh"`
	Time          TimeRange   `json:"time"`
	Templating    Templating  `json:"templating"`
	Annotations   Annotations `json:"annotations"`
	Panels        []Panel     `json:"panels"`
}

// TimeRange is the default time picker range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Templating holds the datasource variable.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a dashboard variable.
type Variable struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Type  string `json:"type"`
	Query string `json:"query"`
}

// Annotations lists annotation queries.
type Annotations struct {
	List []Annotation `json:"list"`
}

// Annotation marks events on every time-series panel.
type Annotation struct {
	Name       string     `json:"name"`
	Datasource Datasource `json:"datasource"`
	Enable     bool       `json:"enable"`
	IconColor  string     `json:"iconColor"`
	Expr       string     `json:"expr"`
	Step       string     `json:"step"`
	TitleFmt   string     `json:"titleFormat"`
}

// Datasource points at the Prometheus datasource variable.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is one panel.
type Panel struct {
	ID          int         `json:"id"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Type        string      `json:"type"`
	GridPos     GridPos     `json:"gridPos"`
	Datasource  Datasource  `json:"datasource"`
	Targets     []Target    `json:"targets"`
	FieldConfig FieldConfig `json:"fieldConfig"`
}

// GridPos places a panel.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Target is one query of a panel.
type Target struct {
	RefID        string `json:"refId"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat,omitempty"`
	Instant      bool   `json:"instant,omitempty"`
}

// FieldConfig sets the unit and thresholds.
type FieldConfig struct {
	Defaults FieldDefaults `json:"defaults"`
}

// FieldDefaults is the panel-wide field configuration.
type FieldDefaults struct {
	Unit       string     `json:"unit,omitempty"`
	Min        *float64   `json:"min,omitempty"`
	Max        *float64   `json:"max,omitempty"`
	Thresholds Thresholds `json:"thresholds"`
}

// Thresholds colour the panel.
type Thresholds struct {
	Mode  string `json:"mode"`
	Steps []Step `json:"steps"`
}

// Step is one threshold.
type Step struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

var ds = Datasource{Type: "prometheus", UID: "${datasource}"}

func f(v float64) *float64 { return &v }

func thresholds(steps ...Step) Thresholds { return Thresholds{Mode: "absolute", Steps: steps} }

// self selects the gate's own-health job of config/prometheus.yml: the
// protected payload (/metrics) carries the same series, possibly from a
// frozen snapshot, and a query over both jobs would count everything twice.
var self = fmt.Sprintf(`job=%q`, slo.HealthJob)

// Queries used by the panels and annotations; exported for the alert rules'
// tests and documentation.
var (
	LiveRatio = fmt.Sprintf(`sum(rate(%[1]s{%[2]s,source="live"}[5m])) / sum(rate(%[1]s{%[2]s,source=~"live|snapshot"}[5m]))`, metrics.Requests, self)
	Fallback  = fmt.Sprintf(`sum by (reason) (rate(%s{%s}[15m]))`, metrics.Fallbacks, self)
	P95       = fmt.Sprintf(`histogram_quantile(0.95, sum by (le) (rate(%s_bucket{%s}[5m])))`, metrics.RequestDuration, self)
	E2EAge    = fmt.Sprintf(`time() - max(%s{%s})`, metrics.E2ELastPass, self)
	Flips     = fmt.Sprintf(`sum(increase(%s{%s,to="open"}[1d]))`, metrics.BreakerTransitions, self)
	Streak    = fmt.Sprintf(`max_over_time((time() - max(%s{%s}))[24h:1m])`, metrics.LiveLastSuccess, self)
	Recovery  = fmt.Sprintf(`time() - max(%s{%s})`, metrics.LiveLastSuccess, self)
	BuildInfo = fmt.Sprintf(`max by (version, commit, goversion) (%s{%s})`, metrics.BuildInfo, self)

	BreakerActive = fmt.Sprintf(`max(%s{%s,state=~"open|half_open"}) == 1`, metrics.BreakerState, self)
	HighFallback  = fmt.Sprintf(`sum(rate(%[1]s{%[2]s,source="snapshot"}[5m])) / sum(rate(%[1]s{%[2]s,source=~"live|snapshot"}[5m])) > 0.05`, metrics.Requests, self)
	E2EStale      = fmt.Sprintf(`time() - max(%s{%s}) > 5400`, metrics.E2ELastPass, self)
	Deployment    = fmt.Sprintf(`changes(max(%s{%s})[5m:15s]) > 0`, metrics.ProcessStartTime, self)
)

// Build returns the operator dashboard.
func Build() Dashboard {
	ok, warn, bad := "green", "orange", "red"
	panel := func(id int, title, desc, typ, unit string, x, y int, th Thresholds, targets ...Target) Panel {
		return Panel{ID: id, Title: title, Description: desc, Type: typ, GridPos: GridPos{H: 8, W: 6, X: x, Y: y},
			Datasource: ds, Targets: targets, FieldConfig: FieldConfig{Defaults: FieldDefaults{Unit: unit, Thresholds: th}}}
	}
	q := func(expr, legend string) Target { return Target{RefID: "A", Expr: expr, LegendFormat: legend} }
	panels := []Panel{
		panel(1, "Live vs Snapshot ratio", "Share of /metrics responses generated live (SLO: 95 % a day).", "timeseries", "percentunit", 0, 0,
			thresholds(Step{bad, nil}, Step{warn, f(0.95)}, Step{ok, f(0.99)}), q(LiveRatio, "live ratio")),
		panel(2, "Fallback rate (15m)", "Responses served from the snapshot, per second, by reason.", "timeseries", "reqps", 6, 0,
			thresholds(Step{ok, nil}, Step{warn, f(0.01)}), q(Fallback, "{{reason}}")),
		panel(3, "p95 latency of /metrics", "95th percentile response time (SLO: 95 % under 200 ms).", "timeseries", "s", 12, 0,
			thresholds(Step{ok, nil}, Step{bad, f(0.2)}), q(P95, "p95")),
		panel(4, "E2E last pass age", "Time since the smoke pack last passed (alert at 90 minutes).", "stat", "s", 18, 0,
			thresholds(Step{ok, nil}, Step{warn, f(3600)}, Step{bad, f(5400)}), q(E2EAge, "age")),
		panel(5, "Breaker flips per day", "Times the circuit breaker opened in the last 24 hours.", "stat", "short", 0, 8,
			thresholds(Step{ok, nil}, Step{warn, f(1)}, Step{bad, f(5)}), q(Flips, "opens")),
		panel(6, "Longest snapshot streak in 24h", "Longest time without a live payload in the last day.", "stat", "s", 6, 8,
			thresholds(Step{ok, nil}, Step{warn, f(60)}, Step{bad, f(300)}), q(Streak, "longest")),
		panel(7, "Live recovery time", "Time since the last live payload: near zero when healthy, the running outage otherwise.", "timeseries", "s", 12, 8,
			thresholds(Step{ok, nil}, Step{warn, f(30)}, Step{bad, f(300)}), q(Recovery, "since live")),
		panel(8, "Build info & version", "Version, commit and Go version of every gate.", "table", "", 18, 8,
			thresholds(Step{ok, nil}), Target{RefID: "A", Expr: BuildInfo, Instant: true}),
	}
	ann := func(name, color, expr, title string) Annotation {
		return Annotation{Name: name, Datasource: ds, Enable: true, IconColor: color, Expr: expr, Step: "30s", TitleFmt: title}
	}
	return Dashboard{
		UID: "quannex-gate-operator", Title: "QuanNex Metrics Integrity Gate — operator", Tags: []string{"quannex", "metrics-gate"},
		Timezone: "utc", SchemaVersion: 39, Refresh: "30s", Time: TimeRange{From: "now-24h", To: "now"},
		Templating: Templating{List: []Variable{{Name: "datasource", Label: "Prometheus", Type: "datasource", Query: "prometheus"}}},
		Annotations: Annotations{List: []Annotation{
			ann("Breaker active", "red", BreakerActive, "circuit breaker open"),
			ann("High fallback rate", "orange", HighFallback, "fallback rate above 5 %"),
			ann("E2E stale", "yellow", E2EStale, "no e2e pass for 90 minutes"),
			ann("Deployment", "blue", Deployment, "gate restarted or deployed"),
		}},
		Panels: panels,
	}
}

// JSON renders the dashboard as the file in config/.
func JSON() ([]byte, error) {
	b, err := json.MarshalIndent(Build(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Queries returns every panel and annotation query with where it is used.
func Queries(d Dashboard) map[string]string {
	out := map[string]string{}
	for _, p := range d.Panels {
		for _, t := range p.Targets {
			out["panel "+p.Title] = t.Expr
		}
	}
	for _, a := range d.Annotations.List {
		out["annotation "+a.Name] = a.Expr
	}
	return out
}
