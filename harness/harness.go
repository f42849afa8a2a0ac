// Package harness runs GameDay scenarios against the gate and judges them.
//
// Run plays one scenario: it starts or reaches the system under test, puts
// load on it, injects and reverts the faults on their schedule, watches the
// production alert rules, checks the scenario's expectations against what
// it saw and writes the report. The phases — set-up, baseline, faults,
// recovery, the steady state after, assembly and the checks — are written
// once and run over two interfaces:
//
//   - a topology, the shape of the system under test: one gate the harness
//     starts (a container or a process), a deployment it did not start (a
//     url target), or a fleet of replicas on a private network;
//   - an alert source, where the verdict's alerts and their scrape
//     evidence come from: the rules evaluated in-process on the harness's
//     own scrapes, an existing Prometheus, or a Prometheus and an
//     Alertmanager the run starts.
//
// docs/ARCHITECTURE.md draws the packages and the path of a run. The
// pieces are sub-packages: scenario (specs), target (the ways a gate is
// started or reached), fault, load, alerts (the rules engine), promserver,
// amserver and receiver (real monitoring), gateapi (the gate's client);
// the report model is package reports.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// Target kinds for Options.Target.
const (
	TargetAuto      = "auto"
	TargetContainer = "container"
	TargetProcess   = "process"
	// TargetURL is a gate the harness did not start (--target url=URL): a
	// staging deployment. Only faults the gate's admin API offers can hit
	// it (fault.RemoteCapable), and the harness brings no tokens of its
	// own: Options.External carries the deployment's.
	TargetURL = "url"
)

// DefaultScrapeInterval is how often the in-process alert source scrapes
// and evaluates the rules, unless Options.ScrapeInterval says otherwise.
const DefaultScrapeInterval = 5 * time.Second

// Options configure Run.
type Options struct {
	Target string // container, process, url or kube (resolve auto first)
	// External is the deployment a url target runs against: the gate's
	// URL and tokens, and its monitoring. Required with TargetURL, unused
	// otherwise.
	External *External
	// Kube is the cluster of a kube target (TargetKube), whose gates'
	// Service, tokens and Prometheus are in External; unused otherwise.
	Kube      *Kube
	Artifacts Artifacts
	// RulesFile is the production alert rules; the production scrape
	// config (ScrapeConfigName) is read beside it when it is there.
	RulesFile      string
	ReportDir      string
	ScrapeInterval time.Duration // the in-process source's; 0: DefaultScrapeInterval
	Progress       io.Writer     // progress lines; nil: none
	// GateEnv adds gate configuration variables (GATE_BREAKER_COOLDOWN,
	// GATE_SNAPSHOT_MAX_AGE, ...) to the gates the run starts; tokens are
	// the harness's.
	GateEnv map[string]string
	// PrometheusBin and AlertmanagerBin are the servers a fleet run
	// starts; empty: prometheus and alertmanager (or
	// prometheus-alertmanager) on PATH.
	PrometheusBin, AlertmanagerBin string
	// Stop is the operator's stop: a value received (or the channel
	// closed) ends the run as a breached stop condition does, with the
	// reason "stopped by operator". nil: no operator's stop.
	Stop <-chan struct{}
	// OnAbort, if set, is called with the abort record once the brake has
	// reverted the faults (and again if a late revert completes it), from
	// the run's goroutines: gameday run writes it into its lock file for
	// gameday stop to read.
	OnAbort func(reports.Abort)
}

// ErrNoDocker is returned when the container target is required and no
// Docker engine answers.
var ErrNoDocker = errors.New("no Docker engine answers")

// Run executes one scenario and writes its report. The returned report is
// complete even when err is not nil (err is then a run failure, such as a
// target that would not start, also recorded in the report).
func Run(ctx context.Context, spec *scenario.Spec, opts Options) (*reports.Report, string, error) {
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = DefaultScrapeInterval
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	rn := newRunner(ctx, spec, opts)
	rep := rn.run(ctx)
	path, werr := reports.Write(opts.ReportDir, spec.Name, rep)
	if werr != nil {
		return rep, "", werr
	}
	if rn.preflightErr != nil {
		return rep, path, fmt.Errorf("%s: %w", spec.Name, rn.preflightErr)
	}
	if rep.Error != "" {
		return rep, path, fmt.Errorf("%s: %s", spec.Name, rep.Error)
	}
	return rep, path, nil
}

// ResolveTarget turns "auto" into container or process: container where a
// Docker engine answers. With requireDocker, a missing engine is an error
// rather than a fallback. "url=URL" (a gate the harness did not start) is
// TargetURL once the URL checks out; it needs no Docker.
func ResolveTarget(ctx context.Context, kind string, requireDocker bool) (string, error) {
	if ns, ok := strings.CutPrefix(kind, TargetKube+"="); ok {
		if ns == "" {
			return "", fmt.Errorf("--target: kube=: the gates' namespace is empty")
		}
		return TargetKube, nil
	}
	if u, ok := strings.CutPrefix(kind, TargetURL+"="); ok {
		if _, err := target.ParseRemoteURL(u); err != nil {
			return "", fmt.Errorf("--target: url=: %w", err)
		}
		return TargetURL, nil
	}
	switch kind {
	case TargetContainer, TargetProcess:
	case TargetAuto, "":
		kind = TargetProcess
		if target.DockerAvailable(ctx) == nil {
			kind = TargetContainer
		}
	default:
		return "", fmt.Errorf("--target: %q is not auto, container, process, url=URL or kube=NAMESPACE", kind)
	}
	if requireDocker && kind != TargetContainer {
		if err := target.DockerAvailable(ctx); err != nil {
			return "", fmt.Errorf("%w (GAMEDAY_REQUIRE_DOCKER is set): %v", ErrNoDocker, err)
		}
	}
	if kind == TargetContainer {
		if err := target.DockerAvailable(ctx); err != nil {
			return "", fmt.Errorf("container target: %w: %v", ErrNoDocker, err)
		}
	}
	return kind, nil
}
