// Package reports owns the GameDay report: the JSON document written once
// per scenario run, versioned by SchemaVersion and documented in
// GAMEDAYS.md. It holds the model, the writer and the reader, the score
// (ScoreOf), the JUnit rendering (WriteJUnit) and the comparison of two
// runs (Compare); the harness fills the model and decides the verdict.
//
// Scripts may rely on the core fields named in GAMEDAYS.md; fields are only
// ever added within a schema version, never renamed or removed.
package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SchemaVersion is the version of the report format this package writes.
const SchemaVersion = 1

// Verdicts. Aborted: a stop condition breached, or an operator stopped
// the run (Report.Abort says which); it is neither a pass nor a fail.
const (
	Pass    = "pass"
	Fail    = "fail"
	Aborted = "aborted"
)

// Report is one scenario run.
type Report struct {
	SchemaVersion   int             `json:"schema_version"`
	Scenario        json.RawMessage `json:"scenario"` // the spec as run, replayable
	Seed            uint64          `json:"seed"`
	Target          Target          `json:"target"`
	StartedAt       time.Time       `json:"started_at"`
	FinishedAt      time.Time       `json:"finished_at"`
	WallSeconds     float64         `json:"wall_seconds"`
	ScheduleSeconds float64         `json:"schedule_seconds"` // the scenario's own phases
	Verdict         string          `json:"verdict"`
	Score           float64         `json:"score"`           // 0–100, by the weight of the failed checks (ScoreOf)
	ScoreBreakdown  []ScoreItem     `json:"score_breakdown"` // each check's share of the score
	Checks          []Check         `json:"checks"`
	Phases          []Phase         `json:"phases"`
	Faults          []Fault         `json:"faults"`
	Load            Load            `json:"load"`
	LiveRatio       []RatioPoint    `json:"live_ratio"`
	Alerts          []Alert         `json:"alerts"`
	Resources       []Resource      `json:"resources"`
	RecoverySeconds *float64        `json:"recovery_seconds"`
	Harness         Harness         `json:"harness"`
	// Fleet is set for a fleet target (added within schema version 1):
	// the replicas, which faults hit which, and the notifications the
	// harness's Alertmanager receiver got.
	Fleet *Fleet `json:"fleet,omitempty"`
	// Abort is set when a stop condition breached or an operator stopped
	// the run (added within schema version 1); the verdict is then
	// aborted.
	Abort *Abort `json:"abort,omitempty"`
	Error string `json:"error,omitempty"`
}

// Abort is what stopped a run and how fast its faults were reverted.
type Abort struct {
	// Condition is the stop condition's name (5xx-burst,
	// live-ratio-floor, a stop_when name) or operator.
	Condition string `json:"condition"`
	Expr      string `json:"expr,omitempty"` // a stop_when condition's PromQL
	// Reason says what held, in a sentence ("stopped by operator" for an
	// operator's stop).
	Reason string `json:"reason"`
	// Value is the condition's value at the breach: the 5xx count, the
	// live ratio, the expression's first sample; 0 for an operator.
	Value      float64   `json:"value"`
	BreachedAt time.Time `json:"breached_at"`
	Phase      string    `json:"phase"` // the phase the breach came in
	// Reverts are the faults that were injected at the breach (or were
	// being injected), each with when its revert completed.
	Reverts []Revert `json:"reverts"`
	// RevertedAt is when the last of them was reverted;
	// BreachToRevertSeconds the time from the breach to it (0 when
	// nothing was injected). Both unset while a revert has not completed.
	RevertedAt            *time.Time `json:"reverted_at,omitempty"`
	BreachToRevertSeconds *float64   `json:"breach_to_revert_seconds,omitempty"`
	// LeftBehind is what a sweep of every gate found still active after
	// the reverts: faults in a gate's fault API. Empty: nothing.
	LeftBehind []string `json:"left_behind,omitempty"`
	// SweptAt is when that sweep ran; unset: it did not (nothing was
	// reverted, or the run ended first).
	SweptAt *time.Time `json:"swept_at,omitempty"`
}

// Revert is one fault reverted because of an abort.
type Revert struct {
	Fault      string    `json:"fault"`
	Instance   string    `json:"instance,omitempty"`
	RevertedAt time.Time `json:"reverted_at"`
	Error      string    `json:"error,omitempty"`
}

// Target describes what was tested.
type Target struct {
	Kind      string            `json:"kind"` // container, process, url or fleet
	Image     string            `json:"image,omitempty"`
	ImageID   string            `json:"image_id,omitempty"`
	Container string            `json:"container_id,omitempty"`
	CPULimit  float64           `json:"cpu_limit,omitempty"`
	URL       string            `json:"url"`
	Build     map[string]string `json:"build"` // quannex_build_info labels
	// Prometheus and Alertmanager are the existing monitoring of a url
	// target (gameday run --prometheus, --alertmanager): the alerts and
	// their scrape evidence came from that Prometheus, under Instance.
	Prometheus   string `json:"prometheus,omitempty"`
	Instance     string `json:"instance,omitempty"`
	Alertmanager string `json:"alertmanager,omitempty"`
	// Namespace and Selector are a kube target's gate pods (gameday run
	// --target kube=NAMESPACE --selector), into which its Chaos Mesh
	// objects inject (added within schema version 1).
	Namespace string `json:"namespace,omitempty"`
	Selector  string `json:"selector,omitempty"`
}

// Check is one expectation: what was expected, what was seen, how much
// evidence the observation rests on, and whether it held. A check whose
// evidence is missing fails with an Observed that starts "no evidence:".
type Check struct {
	Name     string `json:"name"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	// Evidence counts what the check looked at (responses, snapshot
	// responses, scrapes, samples, probes), in the unit EvidenceOf names.
	Evidence   int    `json:"evidence"`
	EvidenceOf string `json:"evidence_of,omitempty"`
	// Severity is Critical or Warning, the check's weight in the score
	// (added within schema version 1; older reports have it in their
	// score breakdown only).
	Severity string `json:"severity,omitempty"`
	Pass     bool   `json:"pass"`
	// Warning is set on a passing check that saw something a reader should
	// know (an unexpected alert that went pending but never fired).
	Warning string `json:"warning,omitempty"`
}

// Phase is one step of the timeline.
type Phase struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Fault records one injected fault and the proof that it took effect.
type Fault struct {
	Name       string            `json:"name"`
	Instance   string            `json:"instance,omitempty"` // in a fleet, the replica it hit
	Params     map[string]string `json:"params"`
	InjectedAt time.Time         `json:"injected_at"`
	RevertedAt time.Time         `json:"reverted_at"` // zero: never reverted
	RevertErr  string            `json:"revert_error,omitempty"`
	// Proof is what the fault measured of itself; nil when it could not.
	Proof *Proof `json:"proof,omitempty"`
	// Kills are a crash fault's kills of the gate, in order (added within
	// schema version 1).
	Kills []Kill `json:"kills,omitempty"`
	// AdminCalls are the admin calls a disk-full fault on the audit log
	// made while injected (added within schema version 1).
	AdminCalls *AdminCalls `json:"admin_calls,omitempty"`
	// Chaos is the Chaos Mesh object that injected the fault on a kube
	// target, with the pods its status proved injected (added within
	// schema version 1).
	Chaos *Chaos `json:"chaos,omitempty"`
}

// Chaos is one Chaos Mesh object the harness created for a fault.
type Chaos struct {
	Kind      string `json:"kind"` // StressChaos, IOChaos
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Selected is how many pods the selection wants, of Matching, the
	// pods its selector matched when it was created.
	Selected int `json:"selected"`
	Matching int `json:"matching"`
	// Pods are the pods its status proved injected: one record each, in
	// phase Injected, with the time of its successful Apply.
	Pods []ChaosPod `json:"pods"`
	// Gone is when the object was deleted and gone (or read recovered);
	// zero when the revert did not see it.
	Gone time.Time `json:"gone,omitzero"`
}

// ChaosPod is a pod a chaos object was proved injected into.
type ChaosPod struct {
	Pod        string    `json:"pod"` // namespace/name
	Container  string    `json:"container"`
	InjectedAt time.Time `json:"injected_at"`
}

// AdminCalls counts the admin calls a fault made while injected and names
// the audit entries of those the gate acknowledged (SEQ:HASH): each must
// be in the audit log afterwards.
type AdminCalls struct {
	Made         int      `json:"made"`
	Refused      int      `json:"refused"` // answered other than 200, or not at all
	Acknowledged []string `json:"acknowledged"`
}

// Kill is one SIGKILL of the gate by a crash fault, and its return.
type Kill struct {
	At       time.Time `json:"at"`
	Signal   string    `json:"signal,omitempty"` // what ended the gate: "killed" for SIGKILL
	ExitCode int       `json:"exit_code"`        // -1 when a signal ended it
	// RestartsBefore and Restarts are the target's restart count of the
	// gate before the kill and once it was back.
	RestartsBefore int       `json:"restarts_before"`
	Restarts       int       `json:"restarts"`
	BackAt         time.Time `json:"back_at,omitzero"` // the restarted gate ready
	// What the restarted gate kept of what the killed one recorded in its
	// cache directory: its e2e pass, as recent as the last one
	// acknowledged before the kill (E2EKept); no cache file refused at its
	// start (Rejected counts the refused ones); a verified snapshot.
	E2EKept          bool `json:"e2e_kept"`
	Rejected         int  `json:"rejected"`
	SnapshotVerified bool `json:"snapshot_verified"`
	// Acknowledged are the admin calls the gate answered in the burst
	// before the kill, by the audit entry each answer named (SEQ:HASH):
	// each must be in the audit log after the restart.
	Acknowledged []string `json:"acknowledged,omitempty"`
	Error        string   `json:"error,omitempty"`
}

// Proof is a fault's own evidence that it happened: what was requested,
// what the target could give, what was achieved, in one unit, and the
// probes behind it.
type Proof struct {
	Unit      string  `json:"unit"` // cores, ms, writes
	Requested float64 `json:"requested"`
	Available float64 `json:"available,omitempty"`
	Achieved  float64 `json:"achieved"`
	Samples   int     `json:"samples"`
	Detail    string  `json:"detail"`
	OK        bool    `json:"ok"`
}

// Load summarises the client side of the run.
type Load struct {
	Requests       int            `json:"requests"`
	RequestedRate  float64        `json:"requested_rate"`
	Rate           float64        `json:"rate"` // achieved
	P50Ms          float64        `json:"p50_ms"`
	P95Ms          float64        `json:"p95_ms"`
	P99Ms          float64        `json:"p99_ms"`
	MaxMs          float64        `json:"max_ms"`
	Codes          map[string]int `json:"codes"`
	Errors         map[string]int `json:"errors"`
	Sources        map[string]int `json:"sources"`
	LiveSHAFailed  int            `json:"livesha_failed"`
	Over200ms      int            `json:"over_200ms"` // responses slower than the latency SLO threshold
	SnapshotNoWarn int            `json:"snapshot_without_warning"`
	DuringFault    *Window        `json:"during_fault,omitempty"`
}

// Window summarises the responses of one time window.
type Window struct {
	Requests  int     `json:"requests"`
	LiveRatio float64 `json:"live_ratio"`
	P95Ms     float64 `json:"p95_ms"`
	Rate      float64 `json:"rate"`
}

// RatioPoint is the live ratio of one bucket of responses.
type RatioPoint struct {
	At       time.Time `json:"at"`
	Live     int       `json:"live"`
	Snapshot int       `json:"snapshot"`
	Other    int       `json:"other"`
	Ratio    float64   `json:"ratio"`
	// Added within schema version 1 for the HTML report's charts; reports
	// written before them lack these fields, and readers must cope.
	P50Ms           *float64       `json:"p50_ms,omitempty"`           // nil: no responses, or an older report
	P95Ms           *float64       `json:"p95_ms,omitempty"`           // nil: no responses, or an older report
	Codes           map[string]int `json:"codes,omitempty"`            // responses by HTTP status
	TransportErrors int            `json:"transport_errors,omitempty"` // requests that got no status
}

// Alert is the timeline of one alert for one label set (the alert's own
// labels after evaluation: instance, job, severity and friends). PendingAt
// is the first pending, FiringAt the first firing and ResolvedAt the last
// resolution; Transitions keeps every state change, so flapping shows.
type Alert struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	PendingAt   *time.Time        `json:"pending_at"`
	FiringAt    *time.Time        `json:"firing_at"`
	ResolvedAt  *time.Time        `json:"resolved_at"`
	Severity    string            `json:"severity,omitempty"`
	Firings     int               `json:"firings"` // transitions to firing
	Transitions []Transition      `json:"transitions"`
}

// Transition is one change of an alert's state (inactive, pending, firing).
type Transition struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	To   string    `json:"to"`
}

// Resource is one sample of CPU: requested against achieved.
type Resource struct {
	At             time.Time `json:"at"`
	Source         string    `json:"source"` // gopsutil or docker-stats
	RequestedCores float64   `json:"requested_cores"`
	AchievedCores  float64   `json:"achieved_cores"`
	TargetCores    float64   `json:"target_cores"` // the gate's own CPU
	HarnessCores   float64   `json:"harness_cores"`
}

// Harness describes the run's own cost.
type Harness struct {
	OverheadSeconds float64 `json:"overhead_seconds"` // wall minus schedule
	CPUCores        float64 `json:"cpu_cores_mean"`   // the harness process while loading
	Version         string  `json:"version"`
	Scrapes         Scrapes `json:"scrapes"`
}

// Scrapes counts the harness's scrapes (every job of the production scrape
// config); a failed scrape is recorded as up=0 for the rules. ByPhase
// holds, per phase, the scrapes planned (one per job and interval) and the
// ones that succeeded: alert checks need >= 90 % of each phase.
type Scrapes struct {
	OK     int `json:"ok"`
	Failed int `json:"failed"`
	// PathBroken counts the failed scrapes that failed while the
	// scrape-path fault's toxic held the path (added within schema
	// version 1): evidence, as up == 0 is the truth of a dark path; Failed
	// does not count them.
	PathBroken int                    `json:"path_broken,omitempty"`
	ByPhase    map[string]PhaseScrape `json:"by_phase,omitempty"`
}

// PhaseScrape is the scrape coverage of one phase.
type PhaseScrape struct {
	Planned    int `json:"planned"`
	OK         int `json:"ok"`
	Failed     int `json:"failed"`
	PathBroken int `json:"path_broken,omitempty"` // as in Scrapes
	// MaxGapSeconds is the longest stretch of the phase in which a job had
	// no successful scrape, edges included, and GapAllowedSeconds what
	// that job's interval allows (added within schema version 1).
	MaxGapSeconds     float64 `json:"max_gap_seconds,omitempty"`
	GapAllowedSeconds float64 `json:"gap_allowed_seconds,omitempty"`
}

// Write stores r as DIR/<scenario>-<UTC time>.json and returns the path.
// The file is written to a temporary name and renamed, so a reader never
// sees half a report.
func Write(dir, scenario string, r *Report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	r.SchemaVersion = SchemaVersion
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	name := fmt.Sprintf("%s-%s.json", safe(scenario), r.StartedAt.UTC().Format("20060102T150405Z"))
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	return path, nil
}

func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// ErrSchema is returned by Read for a report of another schema version.
var ErrSchema = errors.New("unsupported report schema version")

// Read loads a report.
func Read(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read report %s: %w", filepath.Base(path), err)
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("read report %s: %w %d (this build reads %d)", filepath.Base(path), ErrSchema, r.SchemaVersion, SchemaVersion)
	}
	if len(r.Scenario) == 0 {
		return nil, fmt.Errorf("read report %s: no scenario recorded", filepath.Base(path))
	}
	r.fillSeverities()
	return &r, nil
}

// Passed reports whether every check passed.
func (r *Report) Passed() bool {
	if r.Error != "" || len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if !c.Pass {
			return false
		}
	}
	return true
}

// Fleet describes a fleet run: its replicas, the blast radius of each
// fault and every notification Alertmanager delivered to the harness.
type Fleet struct {
	Replicas      []Replica      `json:"replicas"`
	Selections    []Selection    `json:"selections"`
	Prometheus    string         `json:"prometheus"`   // the server's URL during the run
	Alertmanager  string         `json:"alertmanager"` // the server's URL during the run
	Notifications []Notification `json:"notifications"`
	// Malformed counts webhook bodies the receiver could not decode; each
	// is also listed in Notifications with Malformed set.
	Malformed int `json:"malformed"`
}

// Replica is one gate of the fleet: its instance name (the instance label
// Prometheus gives it), its track (stable or canary) and where it ran.
type Replica struct {
	Instance  string  `json:"instance"`
	Track     string  `json:"track"`
	URL       string  `json:"url"`
	Container string  `json:"container_id,omitempty"`
	Requests  int     `json:"requests"`   // load responses from this replica
	LiveRatio float64 `json:"live_ratio"` // over the whole run
}

// Selection is the blast radius of one fault: the scenario's selector and
// the instances it chose with the run's seed.
type Selection struct {
	Fault     int      `json:"fault"` // index in the scenario's faults
	Name      string   `json:"name"`
	Selector  string   `json:"selector"`
	Instances []string `json:"instances"`
}

// Notification is one alert of one webhook notification Alertmanager
// sent to the harness's receiver.
type Notification struct {
	ReceivedAt time.Time         `json:"received_at"`
	Alert      string            `json:"alert"`
	Instance   string            `json:"instance"`
	Status     string            `json:"status"` // firing or resolved
	StartsAt   time.Time         `json:"starts_at"`
	EndsAt     time.Time         `json:"ends_at"`
	Receiver   string            `json:"receiver"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Malformed is why the body could not be decoded; the other fields
	// are then empty.
	Malformed string `json:"malformed,omitempty"`
}
