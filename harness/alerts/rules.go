package alerts

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Rules is a rules file parsed and validated once, as Prometheus loads
// it: every run, the CLI and the checks of an existing Prometheus read the
// alert names from here rather than from the file again.
type Rules struct {
	File string
	// names are the alerting rules, sorted, unique; severity maps each
	// to its first rule's severity label.
	names    []string
	severity map[string]string
	// intervals are the groups' own evaluation intervals, where set.
	intervals []time.Duration
}

// LoadRules parses and validates the rules file at path (every expression
// parsed by the PromQL parser). A file that does not load is an error
// naming the file and the rule; a file with no alerting rule is one too.
func LoadRules(path string) (*Rules, error) {
	rgs, errs := rulefmt.ParseFile(path, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return nil, fmt.Errorf("alerts: load %s: %w", path, errors.Join(errs...))
	}
	r := &Rules{File: path, severity: map[string]string{}}
	for _, g := range rgs.Groups {
		if g.Interval != 0 {
			r.intervals = append(r.intervals, time.Duration(g.Interval))
		}
		for _, rule := range g.Rules {
			if rule.Alert == "" {
				continue
			}
			if _, ok := r.severity[rule.Alert]; !ok {
				r.names = append(r.names, rule.Alert)
				r.severity[rule.Alert] = rule.Labels["severity"]
			}
		}
	}
	slices.Sort(r.names)
	if len(r.names) == 0 {
		return nil, fmt.Errorf("alerts: %s has no alerting rules", path)
	}
	return r, nil
}

// Names lists the alerting rules, sorted.
func (r *Rules) Names() []string { return slices.Clone(r.names) }

// Has reports whether an alerting rule is called name.
func (r *Rules) Has(name string) bool {
	_, ok := r.severity[name]
	return ok
}

// Intervals are the evaluation intervals the groups set themselves; a
// group without one is evaluated at the server's (or the run's) interval.
func (r *Rules) Intervals() []time.Duration { return slices.Clone(r.intervals) }
