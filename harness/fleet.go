package harness

import (
	"context"
	"sort"

	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// fleet is Replicas gates on a private Docker network (scenario
// target.kind: fleet). Each fault hits the replicas its selector picked
// with the scenario's seed; the load rotates over all of them. Its alerts
// come from a real Prometheus and Alertmanager (promsource.go), never from
// the in-process engine: that is production's monitoring of a fleet.
type fleet struct {
	spec     *scenario.Spec
	opts     target.Options
	tok      tokens
	selected [][]string // per fault index, the instances it hits
	replicas map[string]*instance
	started  *target.Fleet
}

func newFleet(spec *scenario.Spec, opts target.Options, tok tokens) *fleet {
	f := &fleet{spec: spec, opts: opts, tok: tok, replicas: map[string]*instance{}}
	for i := range spec.Faults {
		f.selected = append(f.selected, spec.Faults[i].Select.Pick(spec.Target.Replicas, spec.Seed, i))
	}
	return f
}

func (f *fleet) start(ctx context.Context, life *lifecycle) ([]*instance, error) {
	fl, err := target.StartFleet(ctx, target.FleetOptions{Options: f.opts, Replicas: f.spec.Target.Replicas, Canary: f.spec.Target.Canary})
	if err != nil {
		return nil, err // StartFleet removed what it started
	}
	life.push("the fleet", fl.Stop)
	f.started = fl
	out := make([]*instance, 0, len(fl.Replicas))
	for _, rp := range fl.Replicas {
		in := newInstance(rp.Name, rp.Track, rp, rp.BaseURL(), f.tok)
		f.replicas[rp.Name] = in
		out = append(out, in)
	}
	return out, nil
}

func (f *fleet) hits(i int) []*instance {
	out := make([]*instance, 0, len(f.selected[i]))
	for _, name := range f.selected[i] {
		out = append(out, f.replicas[name])
	}
	return out
}

// describe names the fleet's replicas and every fault's blast radius.
func (f *fleet) describe(rep *reports.Report) {
	rep.Target = reports.Target{Kind: scenario.KindFleet, Build: map[string]string{}}
	if rep.Fleet == nil {
		rep.Fleet = &reports.Fleet{}
	}
	for i, s := range f.selected {
		rep.Fleet.Selections = append(rep.Fleet.Selections, reports.Selection{Fault: i, Name: f.spec.Faults[i].Name,
			Selector: f.spec.Faults[i].Select.String(), Instances: s})
	}
	if f.started == nil {
		return
	}
	for _, rp := range f.started.Replicas {
		img, _, id, _ := rp.Describe()
		rep.Target.Image = img
		rep.Fleet.Replicas = append(rep.Fleet.Replicas, reports.Replica{Instance: rp.Name, Track: rp.Track, URL: rp.BaseURL(), Container: id})
	}
	rep.Target.URL = f.started.Replicas[0].BaseURL()
}

// faulted returns the instances any fault of spec hits in a fleet, sorted.
func faulted(selected [][]string) []string {
	set := map[string]bool{}
	for _, s := range selected {
		for _, n := range s {
			set[n] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
