package harness

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// Observation is everything a run saw; Checks turns it into the named
// checks of the report. Kept apart from Run so that every check can be
// shown to fail on observations that break it.
type Observation struct {
	Records        []load.Record
	BaselineStart  time.Time
	FaultStart     time.Time // first injection
	FaultEnd       time.Time // last revert
	AfterStart     time.Time
	AfterEnd       time.Time
	Alerts         []reports.Alert
	RecoveredAt    time.Time // zero: never
	GateRequests   float64   // delta of quannex_metrics_requests_total over the load
	GateCountOK    bool      // the delta could be read
	RevertErrors   []string
	BaselineFailed string
}

// Checks evaluates spec's expectations against o.
func Checks(spec *scenario.Spec, o Observation) []reports.Check {
	var out []reports.Check
	add := func(name, expected, observed string, pass bool) {
		out = append(out, reports.Check{Name: name, Expected: expected, Observed: observed, Pass: pass})
	}
	all := load.Summarise(o.Records, time.Time{}, farFuture)
	base := load.Summarise(o.Records, o.BaselineStart, o.FaultStart)
	during := load.Summarise(o.Records, o.FaultStart, o.FaultEnd)
	after := load.Summarise(o.Records, o.AfterStart, o.AfterEnd)

	add("baseline_steady", fmt.Sprintf("live ratio >= %.0f%% and no 5xx before the fault", spec.Baseline.MinLiveRatio*100),
		fmt.Sprintf("%.1f%% live of %d, %d 5xx%s", base.LiveRatio()*100, base.Requests, count5xx(base), suffix(o.BaselineFailed)),
		base.Requests > 0 && base.LiveRatio() >= spec.Baseline.MinLiveRatio && count5xx(base) == 0 && o.BaselineFailed == "")

	e := spec.Expect
	if e.No5xx {
		add("no_5xx", "0 responses >= 500", fmt.Sprintf("%d of %d (codes %s)", count5xx(all), all.Requests, codes(all.Codes)), count5xx(all) == 0 && all.Requests > 0)
	}
	if e.All200 {
		n := all.Codes[200]
		add("all_200", "every response 200", fmt.Sprintf("%d of %d (codes %s)", n, all.Requests, codes(all.Codes)), all.Requests > 0 && n == all.Requests)
	}
	if e.MinLiveRatioDuring > 0 {
		add("live_ratio_during_fault", fmt.Sprintf(">= %.0f%%", e.MinLiveRatioDuring*100),
			fmt.Sprintf("%.1f%% of %d", during.LiveRatio()*100, during.Requests), during.Requests > 0 && during.LiveRatio() >= e.MinLiveRatioDuring)
	}
	if e.SnapshotsDuring {
		add("snapshots_during_fault", "the verified snapshot is served during the fault",
			fmt.Sprintf("%d snapshot responses of %d", during.Snapshot, during.Requests), during.Snapshot > 0)
	}
	if e.WarningOnSnapshots {
		snaps, missing := 0, 0
		for _, r := range o.Records {
			if r.Source == "snapshot" {
				snaps++
				if !r.Warning {
					missing++
				}
			}
		}
		add("warning_on_snapshots", "every snapshot response carries Warning: 110",
			fmt.Sprintf("%d of %d snapshot responses without Warning", missing, snaps), missing == 0)
	}
	if e.MinP95During > 0 {
		p95 := during.Quantile(0.95)
		add("p95_during_fault", fmt.Sprintf("> %s", e.MinP95During.D()), p95.Round(time.Millisecond).String(), p95 > e.MinP95During.D())
	}
	fired := map[string]reports.Alert{}
	for _, a := range o.Alerts {
		if a.FiringAt != nil {
			fired[a.Name] = a
		}
	}
	expected := map[string]bool{}
	for _, ae := range e.Alerts {
		expected[ae.Name] = true
		a, ok := fired[ae.Name]
		obs := "never fired"
		pass := false
		if ok {
			d := a.FiringAt.Sub(o.FaultStart)
			obs = fmt.Sprintf("fired %s after the fault began", d.Round(time.Second))
			pass = d <= ae.FireWithin.D()
		}
		add("alert_fires:"+ae.Name, fmt.Sprintf("fires within %s of the fault", ae.FireWithin.D()), obs, pass)
		obs, pass = "never resolved", false
		if ok && a.ResolvedAt != nil {
			d := a.ResolvedAt.Sub(o.FaultEnd)
			obs = fmt.Sprintf("resolved %s after the revert", d.Round(time.Second))
			pass = d <= ae.ResolveWithin.D()
		}
		add("alert_resolves:"+ae.Name, fmt.Sprintf("resolves within %s of the revert", ae.ResolveWithin.D()), obs, pass)
	}
	if e.NoUnexpectedAlerts {
		var extra []string
		for name := range fired {
			if !expected[name] {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		obs := "none"
		if len(extra) > 0 {
			obs = strings.Join(extra, ", ")
		}
		add("no_unexpected_alerts", "no other alert fires", obs, len(extra) == 0)
	}
	if r := e.Recovery; r.MinLiveRatio > 0 {
		obs, pass := "not recovered", false
		if !o.RecoveredAt.IsZero() {
			d := o.RecoveredAt.Sub(o.FaultEnd)
			obs = fmt.Sprintf("live ratio >= %.0f%% %s after the revert", r.MinLiveRatio*100, d.Round(time.Second))
			pass = d <= r.Within.D()
		}
		add("recovery", fmt.Sprintf("live ratio back to >= %.0f%% within %s of the revert", r.MinLiveRatio*100, r.Within.D()), obs, pass)
	}
	add("after_steady", fmt.Sprintf("live ratio >= %.0f%% after", spec.After.MinLiveRatio*100),
		fmt.Sprintf("%.1f%% live of %d", after.LiveRatio()*100, after.Requests), after.Requests > 0 && after.LiveRatio() >= spec.After.MinLiveRatio)
	if e.CountersAgree {
		answered := 0
		for _, r := range o.Records {
			if r.Code != 0 {
				answered++
			}
		}
		obs := "gate counters unreadable"
		if o.GateCountOK {
			obs = fmt.Sprintf("client %d, gate %.0f", answered, o.GateRequests)
		}
		add("counters_agree", "responses the client got = the gate's quannex_metrics_requests_total increase", obs,
			o.GateCountOK && float64(answered) == o.GateRequests)
	}
	if e.LiveSHAValid {
		failed, checked := 0, 0
		for _, r := range o.Records {
			if r.SHAFailed {
				failed++
			}
			if r.LiveSHA || r.SHAFailed {
				checked++
			}
		}
		add("livesha_valid", "every payload's LIVESHA verifies", fmt.Sprintf("%d of %d failed", failed, checked), failed == 0 && checked > 0)
	}
	add("faults_reverted", "every fault reverted without error", strings.Join(append([]string{fmt.Sprint(len(o.RevertErrors)), "errors"}, o.RevertErrors...), " "), len(o.RevertErrors) == 0)
	return out
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func count5xx(w load.Window) int {
	n := 0
	for c, k := range w.Codes {
		if c >= 500 {
			n += k
		}
	}
	return n
}

func codes(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return "; " + s
}
