package harness

import (
	"context"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/receiver"
	"github.com/quannex/gameday/reports"
)

// An alertSource is where a run's alerts and their scrape evidence come
// from. Implementations: inProcess (the harness scrapes the gate and
// evaluates the rules itself, inprocess.go) and promSource (a Prometheus:
// the deployment's, or, for a fleet, one the run starts with an
// Alertmanager and a receiver, promsource.go). A run has exactly one: its
// progress lines, the recovery phase's wait and the verdict all read the
// same alerts.
type alertSource interface {
	// prepare readies the source before anything starts — it reaches what
	// it reads (the deployment's Prometheus) — and returns the jobs the
	// gate is scraped with, at their intervals, and where those intervals
	// come from (a flag, a Prometheus), for an error that names it.
	prepare(ctx context.Context) (jobs []promserver.Job, from string, err error)
	// start watches the instances; every piece it starts is pushed on
	// life.
	start(ctx context.Context, life *lifecycle, ins []*instance) error
	// observe runs until ctx ends: the in-process source scrapes and
	// evaluates each interval; a Prometheus does that itself, and its
	// observe returns at once.
	observe(ctx context.Context)
	// states lists the alerts that are not inactive, as name=state, for
	// progress lines.
	states(ctx context.Context) []string
	// settled reports whether the alerts have settled after the faults:
	// none firing, the expected ones inactive and, where a receiver
	// listens, every expected resolution delivered for each faulted
	// instance (injected maps them to their first injection).
	settled(ctx context.Context, injected map[string]time.Time) bool
	// evidence reads the alerts raised since since and the scrape coverage
	// of each phase, once the phases are over.
	evidence(ctx context.Context, since time.Time, phases []reports.Phase) (evidence, error)
	// describe fills the report's sections the source owns: the
	// Prometheus and Alertmanager it read.
	describe(rep *reports.Report)
	// query evaluates a stop condition's expression at at, on what the
	// verdict's alerts are evaluated on: the values of its samples (none:
	// the condition does not hold).
	query(ctx context.Context, expr string, at time.Time) ([]float64, error)
}

// evidence is what an alert source saw.
type evidence struct {
	alerts []alerts.Timeline
	coverage
	// notifications are what a receiver got through Alertmanager (a
	// fleet's); delivered is false where no receiver listens.
	notifications []receiver.Notification
	malformed     int
	delivered     bool
}
