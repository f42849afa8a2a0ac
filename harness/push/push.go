// Package push sends a GameDay's result to a Prometheus Pushgateway, so
// that a scheduled run's verdict outlives the pod it ran in: Prometheus
// scrapes the Pushgateway (honor_labels: true) and the shipped rules
// (config/gameday.yml) alert on a failed and on a missing scheduled
// GameDay.
//
// The metrics follow Litmus's chaos-exporter (litmuschaos_experiment_verdict,
// ..._start_time, ..._end_time, ..._total_duration,
// ..._chaos_injected_time): one gauge per fact, a verdict gauge with the
// verdict as a label, times as Unix seconds. Each scenario is its own
// group (job="gameday", scenario=NAME), replaced at each push, so the last
// run of each scenario is what Prometheus sees:
//
//	gameday_run_verdict{verdict}              1, verdict pass, fail, aborted or error
//	gameday_run_passed                        1 when the verdict is pass, else 0
//	gameday_run_score                         0–100 (reports.ScoreOf)
//	gameday_run_start_time_seconds            when the run started
//	gameday_run_end_time_seconds              when it finished
//	gameday_run_total_duration_seconds        its wall time
//	gameday_run_recovery_seconds              fault end to live ratio back (absent: never)
//	gameday_run_breach_to_revert_seconds      an aborted run's breach to its last revert
//	gameday_fault_injected_time_seconds{fault,index}  each fault's injection
//	gameday_fault_reverted_time_seconds{fault,index}  and revert (absent: never reverted)
//
// Every series also carries target (container, process, url, kube), and
// namespace for a kube target.
package push

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/quannex/gameday/reports"
)

// Job is the job label of every pushed group.
const Job = "gameday"

// Verdicts a pushed run can have besides the report's: error, a run that
// could not happen (pre-flight, an unreachable gate).
const VerdictError = "error"

// Push replaces the scenario's group on the Pushgateway at url with rep's
// result. runErr is the run's error (a pre-flight finding, a target that
// would not start): the verdict is then error.
func Push(ctx context.Context, url string, rep *reports.Report, scenario string, runErr error) error {
	reg := prometheus.NewRegistry()
	for _, c := range collectors(rep, runErr) {
		reg.MustRegister(c)
	}
	client := &http.Client{Timeout: 15 * time.Second}
	p := push.New(url, Job).Grouping("scenario", scenario).Gatherer(reg).Client(client)
	if err := p.PushContext(ctx); err != nil {
		return fmt.Errorf("--push %s: %w", url, err)
	}
	return nil
}

func collectors(rep *reports.Report, runErr error) []prometheus.Collector {
	base := prometheus.Labels{"target": rep.Target.Kind}
	if rep.Target.Namespace != "" {
		base["namespace"] = rep.Target.Namespace
	}
	gauge := func(name, help string, v float64) prometheus.Collector {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: base})
		g.Set(v)
		return g
	}
	verdict := rep.Verdict
	if runErr != nil || verdict == "" {
		verdict = VerdictError
	}
	passed := 0.0
	if verdict == reports.Pass {
		passed = 1
	}
	vg := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gameday_run_verdict", Help: "1 for the run's verdict (pass, fail, aborted, error).", ConstLabels: base}, []string{"verdict"})
	vg.WithLabelValues(verdict).Set(1)
	end := rep.FinishedAt
	if end.IsZero() {
		end = time.Now()
	}
	out := []prometheus.Collector{vg,
		gauge("gameday_run_passed", "1 when the run's verdict is pass, else 0.", passed),
		gauge("gameday_run_score", "The run's score, 0-100.", rep.Score),
		gauge("gameday_run_start_time_seconds", "When the run started, Unix seconds.", unix(rep.StartedAt)),
		gauge("gameday_run_end_time_seconds", "When the run finished, Unix seconds.", unix(end)),
		gauge("gameday_run_total_duration_seconds", "The run's wall time.", end.Sub(rep.StartedAt).Seconds()),
	}
	if rep.RecoverySeconds != nil {
		out = append(out, gauge("gameday_run_recovery_seconds", "From the faults' end to the live ratio back.", *rep.RecoverySeconds))
	}
	if rep.Abort != nil && rep.Abort.BreachToRevertSeconds != nil {
		out = append(out, gauge("gameday_run_breach_to_revert_seconds", "An aborted run's breach to its last revert.", *rep.Abort.BreachToRevertSeconds))
	}
	inj := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gameday_fault_injected_time_seconds", Help: "When each fault was injected, Unix seconds.", ConstLabels: base}, []string{"fault", "index"})
	rev := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gameday_fault_reverted_time_seconds", Help: "When each fault was reverted, Unix seconds.", ConstLabels: base}, []string{"fault", "index"})
	for i, f := range rep.Faults {
		idx := strconv.Itoa(i)
		inj.WithLabelValues(f.Name, idx).Set(unix(f.InjectedAt))
		if !f.RevertedAt.IsZero() && f.RevertErr == "" {
			rev.WithLabelValues(f.Name, idx).Set(unix(f.RevertedAt))
		}
	}
	if len(rep.Faults) > 0 {
		out = append(out, inj, rev)
	}
	return out
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
