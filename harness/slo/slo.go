// Package slo reads config/slo-error-budget.yml, computes the error
// budgets, and generates the Prometheus recording rules and the
// multi-window multi-burn-rate alerts of the Google SRE workbook for every
// ratio SLO: 14.4x over 1h and 5m and 6x over 6h and 30m page; 3x over 1d
// and 2h and 1x over 3d and 6h open a ticket.
package slo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// File is the SLO file.
type File struct {
	SLOs        []SLO    `yaml:"slos"`
	MinRequests int      `yaml:"min_requests"`
	Policies    []Policy `yaml:"policies"`
}

// SLO is one objective. A ratio SLO has errors and total expressions with
// a $window placeholder; a freshness SLO has a freshness bound instead.
type SLO struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Objective   float64 `yaml:"objective"`
	Window      string  `yaml:"window"`
	Errors      string  `yaml:"errors"`
	Total       string  `yaml:"total"`
	Freshness   string  `yaml:"freshness"`
}

// Policy is a remediation policy: an expression that is true when it
// applies, or none when it is a procedure.
type Policy struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Expr        string `yaml:"expr"`
}

// WindowDuration parses the SLO window.
func (s SLO) WindowDuration() time.Duration {
	d, _ := model.ParseDuration(s.Window)
	return time.Duration(d)
}

// Budget is the time the SLO may be violated within its window.
func (s SLO) Budget() time.Duration {
	return time.Duration((1 - s.Objective) * float64(s.WindowDuration()))
}

// Ratio reports whether this SLO is a request ratio (burn-rate rules apply).
func (s SLO) Ratio() bool { return s.Errors != "" }

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Parse reads and validates an SLO file.
func Parse(r io.Reader) (*File, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("slo: empty file")
		}
		return nil, fmt.Errorf("slo: %w", err)
	}
	return &f, f.Validate()
}

// Validate names the first bad field.
func (f *File) Validate() error {
	if len(f.SLOs) == 0 {
		return errors.New("slo: slos: at least one SLO is required")
	}
	if f.MinRequests < 0 {
		return errors.New("slo: min_requests: must not be negative")
	}
	p := parser.NewParser(parser.Options{})
	seen := map[string]bool{}
	for i, s := range f.SLOs {
		field := fmt.Sprintf("slos[%d]", i)
		switch {
		case !nameRE.MatchString(s.Name):
			return fmt.Errorf("slo: %s.name: %q must be lowercase letters, digits and -", field, s.Name)
		case seen[s.Name]:
			return fmt.Errorf("slo: %s.name: %q given twice", field, s.Name)
		case s.Objective <= 0 || s.Objective >= 1:
			return fmt.Errorf("slo: %s.objective: must be between 0 and 1 (exclusive), such as 0.999", field)
		}
		seen[s.Name] = true
		if _, err := model.ParseDuration(s.Window); err != nil || s.WindowDuration() <= 0 {
			return fmt.Errorf("slo: %s.window: %q is not a duration such as 30d", field, s.Window)
		}
		switch {
		case s.Ratio() && s.Freshness != "":
			return fmt.Errorf("slo: %s: give errors and total, or freshness, not both", field)
		case !s.Ratio() && s.Freshness == "":
			return fmt.Errorf("slo: %s: errors and total (a ratio SLO) or freshness is required", field)
		case s.Ratio() && s.Total == "":
			return fmt.Errorf("slo: %s.total: required with errors", field)
		case s.Freshness != "":
			if _, err := model.ParseDuration(s.Freshness); err != nil {
				return fmt.Errorf("slo: %s.freshness: %q is not a duration such as 90m", field, s.Freshness)
			}
		}
		for _, e := range []struct{ name, expr string }{{"errors", s.Errors}, {"total", s.Total}} {
			if e.expr == "" {
				continue
			}
			if !strings.Contains(e.expr, "$window") {
				return fmt.Errorf("slo: %s.%s: must use $window for the range", field, e.name)
			}
			if _, err := p.ParseExpr(strings.ReplaceAll(e.expr, "$window", "5m")); err != nil {
				return fmt.Errorf("slo: %s.%s: %v", field, e.name, err)
			}
		}
	}
	for i, pol := range f.Policies {
		field := fmt.Sprintf("policies[%d]", i)
		if !nameRE.MatchString(pol.Name) {
			return fmt.Errorf("slo: %s.name: %q must be lowercase letters, digits and -", field, pol.Name)
		}
		if pol.Expr != "" {
			if _, err := p.ParseExpr(pol.Expr); err != nil {
				return fmt.Errorf("slo: %s.expr: %v", field, err)
			}
		}
	}
	return nil
}

// round removes floating-point noise (1-0.95 is 0.050000000000000044).
func round(x float64) float64 { return math.Round(x*1e9) / 1e9 }

// Tier is one multi-window burn-rate alert.
type Tier struct {
	Severity    string
	Factor      float64
	Long, Short string
	For         string
}

// Tiers are the SRE workbook's.
var Tiers = []Tier{
	{"page", 14.4, "1h", "5m", "2m"},
	{"page", 6, "6h", "30m", "15m"},
	{"ticket", 3, "1d", "2h", "1h"},
	{"ticket", 1, "3d", "6h", "3h"},
}

// windows are every range the tiers use.
var windows = []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"}

type ruleFile struct {
	Groups []group `yaml:"groups"`
}

type group struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// alertName turns "live-ratio" into "LiveRatio".
func alertName(slo string) string {
	var b strings.Builder
	for _, part := range strings.Split(slo, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// HealthJob is the job of config/prometheus.yml that scrapes the gate's own
// health (/metrics/self). The gate's health series are in both jobs'
// payloads; the generated rules read them from this job only, so that each
// series counts once per instance (see the top of config/alerts.yml).
const HealthJob = "quannex-gate-self"

// withJob adds job="<job>" to every series selector of expr that does not
// already match on job.
func withJob(p parser.Parser, expr, job string) (string, error) {
	e, err := p.ParseExpr(expr)
	if err != nil {
		return "", err
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == "job" {
				return nil
			}
		}
		vs.LabelMatchers = append(vs.LabelMatchers, labels.MustNewMatcher(labels.MatchEqual, "job", job))
		return nil
	})
	return e.String(), nil
}

// Generate renders the recording rules and burn-rate alerts as a rules
// file. Every series selector of the SLO expressions reads HealthJob.
func (f *File) Generate() ([]byte, error) {
	var out ruleFile
	p := parser.NewParser(parser.Options{})
	for _, s := range f.SLOs {
		if !s.Ratio() {
			continue
		}
		budget := round(1 - s.Objective)
		g := group{Name: "slo-" + s.Name}
		for _, w := range windows {
			errs, err := withJob(p, strings.ReplaceAll(s.Errors, "$window", w), HealthJob)
			if err != nil {
				return nil, fmt.Errorf("slo: %s.errors: %w", s.Name, err)
			}
			total, err := withJob(p, strings.ReplaceAll(s.Total, "$window", w), HealthJob)
			if err != nil {
				return nil, fmt.Errorf("slo: %s.total: %w", s.Name, err)
			}
			g.Rules = append(g.Rules,
				rule{Record: "slo:sli_error:ratio_rate" + w, Expr: fmt.Sprintf("(%s)\n/\n(%s)", errs, total), Labels: map[string]string{"slo": s.Name}},
				rule{Record: "slo:requests:increase" + w, Expr: strings.Replace(total, "rate(", "increase(", 1), Labels: map[string]string{"slo": s.Name}},
			)
		}
		for _, t := range Tiers {
			threshold := round(t.Factor * budget)
			sel := fmt.Sprintf(`{slo=%q}`, s.Name)
			expr := fmt.Sprintf("slo:sli_error:ratio_rate%[1]s%[3]s > %[4]g\nand\nslo:sli_error:ratio_rate%[2]s%[3]s > %[4]g\nand\nslo:requests:increase%[1]s%[3]s >= %[5]d",
				t.Long, t.Short, sel, threshold, f.MinRequests)
			g.Rules = append(g.Rules, rule{
				Alert: alertName(s.Name) + "BudgetBurn", Expr: expr, For: t.For,
				Labels: map[string]string{"severity": t.Severity, "slo": s.Name, "window": t.Long},
				Annotations: map[string]string{
					"summary":     fmt.Sprintf("%s SLO burning its error budget %gx too fast ({{ $labels.instance }})", s.Name, t.Factor),
					"description": fmt.Sprintf("Error ratio above %.4g over %s and %s (objective %g over %s; budget %s).", threshold, t.Long, t.Short, s.Objective, s.Window, s.Budget().Round(time.Second)),
					"runbook_url": "docs/RUNBOOK.md#" + strings.ReplaceAll(s.Name, "-", "") + "budgetburn",
				},
			})
		}
		out.Groups = append(out.Groups, g)
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// Marker starts the generated part of the production rules file; everything
// after it belongs to `gameday slo generate`.
const Marker = "  # --- generated by `gameday slo generate` from config/slo-error-budget.yml: do not edit below ---\n"

// Into returns rules (a whole rules file) with its generated part replaced
// by this file's burn-rate groups, appended to the same groups list.
func (f *File) Into(rules []byte) ([]byte, error) {
	gen, err := f.Generate()
	if err != nil {
		return nil, err
	}
	body, ok := strings.CutPrefix(string(gen), "groups:\n")
	if !ok {
		return nil, errors.New("slo: generated rules do not start with groups")
	}
	head, _, _ := strings.Cut(string(rules), Marker)
	if !strings.Contains(head, "groups:") {
		return nil, errors.New("slo: the rules file has no groups list")
	}
	return []byte(strings.TrimRight(head, "\n") + "\n\n" + Marker + body), nil
}

// Burn is the error budget one GameDay consumed for one SLO.
type Burn struct {
	SLO      string        `json:"slo"`
	Bad      int           `json:"bad_requests"`
	Total    int           `json:"total_requests"`
	Consumed time.Duration `json:"consumed"` // bad fraction x run duration: the equivalent full outage
	Budget   time.Duration `json:"budget"`
	Percent  float64       `json:"percent_of_budget"`
}

// Burned computes, from a report's load summary, how much of each ratio
// SLO's budget the run consumed. requests, codes (by status), snapshot
// responses and responses over 200 ms come from the report.
func (f *File) Burned(requests int, codes map[string]int, snapshots, over200ms int, duration time.Duration) []Burn {
	var out []Burn
	for _, s := range f.SLOs {
		if !s.Ratio() {
			continue
		}
		bad, total := 0, requests
		switch s.Name {
		case "availability":
			for c, n := range codes {
				if strings.HasPrefix(c, "5") {
					bad += n
				}
			}
		case "live-ratio":
			bad = snapshots
		case "latency":
			bad = over200ms
		default:
			continue // an SLO this report has no data for
		}
		b := Burn{SLO: s.Name, Bad: bad, Total: total, Budget: s.Budget()}
		if total > 0 {
			b.Consumed = time.Duration(float64(bad) / float64(total) * float64(duration))
		}
		if b.Budget > 0 {
			b.Percent = 100 * float64(b.Consumed) / float64(b.Budget)
		}
		out = append(out, b)
	}
	return out
}

// PolicyResult is one evaluated policy.
type PolicyResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Evaluated   bool   `json:"evaluated"` // false for procedures without an expression
	Applies     bool   `json:"applies"`
	Detail      string `json:"detail"`
}

// Querier runs an instant query and returns the number of series in the
// result; package canary's Prometheus client satisfies it through a func.
type Querier func(ctx context.Context, query string) (int, error)

// EvaluatePolicies runs every policy expression: a policy applies when its
// expression returns at least one series.
func (f *File) EvaluatePolicies(ctx context.Context, q Querier) ([]PolicyResult, error) {
	var out []PolicyResult
	for _, p := range f.Policies {
		r := PolicyResult{Name: p.Name, Description: p.Description}
		if p.Expr == "" {
			r.Detail = "a procedure, not evaluated"
			out = append(out, r)
			continue
		}
		n, err := q(ctx, p.Expr)
		if err != nil {
			return out, fmt.Errorf("policy %s: %w", p.Name, err)
		}
		r.Evaluated, r.Applies = true, n > 0
		r.Detail = fmt.Sprintf("%d series match", n)
		out = append(out, r)
	}
	return out, nil
}
