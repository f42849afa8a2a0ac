// Package metrics defines every metric the gate exposes about itself: the
// names (exported constants, so the dashboard generator, the alert rules
// tests and the harness read the same names the gate writes) and the
// collectors, registered on a registry passed in.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/quannex/gameday/gate/build"
)

// Metric names. Every dashboard panel, alert rule and SLO uses these.
const (
	Requests             = "quannex_metrics_requests_total"
	RequestDuration      = "quannex_metrics_request_duration_seconds"
	Fallbacks            = "quannex_metrics_fallbacks_total"
	BreakerState         = "quannex_circuit_breaker_state"
	BreakerTransitions   = "quannex_circuit_breaker_transitions_total"
	SnapshotAge          = "quannex_snapshot_age_seconds"
	LiveLastSuccess      = "quannex_live_last_success_timestamp_seconds"
	E2ELastPass          = "quannex_e2e_last_pass_timestamp_seconds"
	AuthFailures         = "quannex_auth_failures_total"
	AuthReloads          = "quannex_auth_reloads_total"
	AuthReloadFailures   = "quannex_auth_reload_failures_total"
	AuthReloadOK         = "quannex_auth_last_reload_successful"
	WebConfigReloadOK    = "quannex_web_config_last_reload_successful"
	WebConfigReloads     = "quannex_web_config_reloads_total"
	RateLimited          = "quannex_rate_limited_requests_total"
	AuditEntries         = "quannex_audit_entries_total"
	AuditHeadSequence    = "quannex_audit_head_sequence"
	AuditWriteFailures   = "quannex_audit_write_failures_total"
	AuditDropped         = "quannex_audit_dropped_entries_total"
	AuditPending         = "quannex_audit_pending_entries"
	AuditDamageFound     = "quannex_audit_damage_found"
	CounterRegressions   = "quannex_integrity_monotonicity_violations_total"
	SnapshotRejected     = "quannex_snapshot_rejected_total"
	ConnectionsRefused   = "quannex_connections_refused_total"
	TLSHandshakeErrors   = "quannex_tls_handshake_errors_total"
	FaultActive          = "quannex_fault_active"
	BuildInfo            = "quannex_build_info"
	GoGoroutines         = "go_goroutines"
	ProcessResidentBytes = "process_resident_memory_bytes"
	ProcessStartTime     = "process_start_time_seconds"
)

// Label values for Requests{source}.
const (
	SourceLive     = "live"
	SourceSnapshot = "snapshot"
	// SourceNone marks responses that carried no payload (401, 429, 503).
	SourceNone = "none"
)

// DurationBuckets are the request duration buckets; 0.2 s is the latency
// SLO threshold and must stay a bucket boundary.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5}

// Gate is the set of collectors the gate updates directly. Values derived
// from other components (breaker state, snapshot age, audit head) are
// GaugeFuncs registered by the gate with Funcs.
type Gate struct {
	Requests           *prometheus.CounterVec
	Duration           *prometheus.HistogramVec
	Fallbacks          *prometheus.CounterVec
	BreakerTransitions *prometheus.CounterVec
	LiveLastSuccess    prometheus.Gauge
	E2ELastPass        prometheus.Gauge
	AuthFailures       *prometheus.CounterVec
	AuthReloads        prometheus.Counter
	AuthReloadFailures prometheus.Counter
	AuthReloadOK       prometheus.Gauge
	WebConfigReloadOK  prometheus.Gauge
	WebConfigReloads   prometheus.Counter
	RateLimited        *prometheus.CounterVec
	AuditEntries       *prometheus.CounterVec
	CounterRegressions prometheus.Counter
	SnapshotRejected   *prometheus.CounterVec
	ConnectionsRefused prometheus.Counter
	TLSHandshakeErrors prometheus.Counter
}

// New creates the gate's collectors and registers them, with the Go and
// process collectors and quannex_build_info, on reg.
func New(reg prometheus.Registerer, info build.Info) *Gate {
	g := &Gate{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: Requests, Help: "Responses to /metrics by payload source (live, snapshot, none) and HTTP status code.",
		}, []string{"source", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: RequestDuration, Help: "Time to answer /metrics, by payload source.", Buckets: DurationBuckets,
		}, []string{"source"}),
		Fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: Fallbacks, Help: "Responses that fell back from live generation, by reason (error, timeout, record, breaker_open).",
		}, []string{"reason"}),
		BreakerTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: BreakerTransitions, Help: "Circuit breaker transitions, by destination state.",
		}, []string{"to"}),
		LiveLastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: LiveLastSuccess, Help: "Unix time of the last live payload generated and recorded.",
		}),
		E2ELastPass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: E2ELastPass, Help: "Unix time of the last recorded end-to-end pass (persisted across restarts).",
		}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: AuthFailures, Help: "Failed authentications, by reason.",
		}, []string{"reason"}),
		AuthReloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: AuthReloads, Help: "Token files re-read and put in force after start (METRICS_TOKENS_FILE, GATE_ADMIN_TOKEN_FILE).",
		}),
		AuthReloadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: AuthReloadFailures, Help: "Token file re-reads rejected (missing, unreadable, empty or invalid file); the previous tokens stay in force.",
		}),
		AuthReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: AuthReloadOK, Help: "Whether the last re-read of every token file put it in force (1) or one was rejected and its previous tokens stay in force (0); 1 without token files.",
		}),
		WebConfigReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: WebConfigReloadOK, Help: "Whether the web config and its files loaded whole at their last re-read, at a new TLS connection or every --web.config.poll-interval (1), or the last good certificate is served for want of it (0); 1 without TLS.",
		}),
		WebConfigReloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: WebConfigReloads, Help: "Web config sets (the config and the certificate, key and CA files it names) read and parsed again after start because one of the files changed, and put in force.",
		}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RateLimited, Help: "Requests refused with 429, by caller name (never the token).",
		}, []string{"token"}),
		AuditEntries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: AuditEntries, Help: "Audit entries made durable, by event.",
		}, []string{"event"}),
		CounterRegressions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: CounterRegressions, Help: "Counters that went backwards between consecutive live payloads.",
		}),
		SnapshotRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: SnapshotRejected, Help: "Cache files (snapshot slots, the e2e state) refused when read or written, by reason: unauthenticated (not written under the gate's cache key), corrupt (torn or damaged), other_key, future, unsafe_file (a symlink, FIFO, directory, hard link or another user's file), unreadable. Never served.",
		}, []string{"reason"}),
		ConnectionsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ConnectionsRefused, Help: "Connections closed as soon as accepted because their source address (an IPv6 /64) held its share (--max-connections-per-address).",
		}),
		TLSHandshakeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: TLSHandshakeErrors, Help: "TLS handshakes that failed (a client without a valid certificate, plain HTTP on the TLS port, a timeout); logged in bounded form.",
		}),
	}
	// Both reload gauges exist, at 1, whether or not the gate reads files,
	// so a rule on "== 0" needs no "absent" case and a dashboard no gap.
	g.AuthReloadOK.Set(1)
	g.WebConfigReloadOK.Set(1)
	bi := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: BuildInfo, Help: "Build of the running gate; always 1.",
		ConstLabels: prometheus.Labels{"version": info.Version, "commit": info.Commit, "goversion": info.GoVersion},
	})
	bi.Set(1)
	reg.MustRegister(g.Requests, g.Duration, g.Fallbacks, g.BreakerTransitions, g.LiveLastSuccess,
		g.E2ELastPass, g.AuthFailures, g.AuthReloads, g.AuthReloadFailures, g.AuthReloadOK, g.WebConfigReloadOK, g.WebConfigReloads, g.RateLimited,
		g.AuditEntries, g.CounterRegressions, g.SnapshotRejected, g.ConnectionsRefused, g.TLSHandshakeErrors, bi,
		// The memstats family go_memstats_alloc_bytes clashes with
		// go_memstats_alloc_bytes_total in OpenMetrics (a counter's family
		// name drops _total), which makes the OpenMetrics payload invalid;
		// the runtime/metrics-based collector keeps go_goroutines, go_info,
		// go_threads and the GC summary, and the process collector has RSS.
		collectors.NewGoCollector(collectors.WithGoCollectorMemStatsMetricsDisabled()),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return g
}

// Funcs are the live readings the gate exposes as gauges.
type Funcs struct {
	BreakerState       func() string // "closed", "half_open" or "open"
	BreakerStates      []string
	SnapshotRecordedAt func() time.Time // zero if none
	AuditHeadSeq       func() float64
	AuditWriteFailures func() float64
	AuditDropped       func() float64
	AuditPending       func() float64
	AuditDamageFound   func() bool
	FaultActive        func(kind string) bool
	FaultKinds         []string
}

// RegisterFuncs registers gauges that read f at scrape time.
func RegisterFuncs(reg prometheus.Registerer, f Funcs) {
	for _, st := range f.BreakerStates {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: BreakerState, Help: "Circuit breaker state: 1 for the current state, 0 for the others.",
			ConstLabels: prometheus.Labels{"state": st},
		}, func() float64 { return b2f(f.BreakerState() == st) }))
	}
	for _, k := range f.FaultKinds {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: FaultActive, Help: "1 while an injected fault of this kind is on.",
			ConstLabels: prometheus.Labels{"kind": k},
		}, func() float64 { return b2f(f.FaultActive(k)) }))
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: SnapshotAge, Help: "Seconds since the newest recorded snapshot was generated; -1 when there is none.",
		}, func() float64 {
			t := f.SnapshotRecordedAt()
			if t.IsZero() {
				return -1
			}
			return time.Since(t).Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: AuditHeadSequence, Help: "Sequence number of the newest durable audit entry.",
		}, f.AuditHeadSeq),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: AuditWriteFailures, Help: "Failed attempts to write the audit log.",
		}, f.AuditWriteFailures),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: AuditDropped, Help: "Audit entries that could not be queued or written (each also noted in an audit_gap entry).",
		}, f.AuditDropped),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: AuditPending, Help: "Audit entries waiting to be written.",
		}, f.AuditPending),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: AuditDamageFound, Help: "1 when the audit log held damage no checkpoint recorded yet when the gate started (an edited, deleted or cut tail, the head file's head not reached), until the next start; 0 otherwise.",
		}, func() float64 { return b2f(f.AuditDamageFound()) }),
	)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
