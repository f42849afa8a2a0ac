package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/breaker"
	"github.com/quannex/gameday/gate/build"
	"github.com/quannex/gameday/gate/fault"
	"github.com/quannex/gameday/gate/snapshot"
)

// Selftest statuses.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded"
	StatusFailing  = "failing"
	checkWarn      = "warn"
	checkFail      = "fail"
)

// Selftest is the JSON body of /metrics/selftest. It never holds a secret.
// The admin token sees all of it; a metrics token sees the redacted view
// (Redacted true): every status, count and time, but no file path and no
// error text (see redacted).
type Selftest struct {
	Redacted bool            `json:"redacted,omitempty"`
	Status   string          `json:"status"`
	Time     time.Time       `json:"time"`
	Checks   []Check         `json:"checks"`
	Breaker  BreakerStatus   `json:"breaker"`
	Snapshot SnapshotStatus  `json:"snapshot"`
	Cache    CacheStatus     `json:"cache"`
	Audit    AuditStatus     `json:"audit"`
	Build    build.Info      `json:"build"`
	Faults   []fault.Active  `json:"faults"`
	Counters ServedCounters  `json:"counters"`
	Live     LiveStatus      `json:"live"`
	E2E      E2EStatus       `json:"e2e"`
	Auth     AuthStatusBrief `json:"auth"`
}

// Check is one named self-diagnosis.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn or fail
	Detail string `json:"detail"`
}

// BreakerStatus is the circuit breaker part of Selftest.
type BreakerStatus struct {
	State               string     `json:"state"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	OpenedAt            *time.Time `json:"opened_at,omitempty"`
}

// SnapshotStatus describes the newest verified snapshot.
type SnapshotStatus struct {
	Present     bool       `json:"present"`
	Verified    bool       `json:"verified"`
	Kind        string     `json:"kind,omitempty"`
	GeneratedAt *time.Time `json:"generated_at,omitempty"`
	AgeSeconds  float64    `json:"age_seconds"`
	SHA256      string     `json:"sha256,omitempty"`
	// Rejected lists the slot files refused at this load, with why.
	Rejected []string `json:"rejected,omitempty"`
}

// CacheStatus says whether the cache directory takes writes.
type CacheStatus struct {
	Dir      string `json:"dir,omitempty"`
	Writable bool   `json:"writable"`
	Error    string `json:"error,omitempty"`
}

// AuditStatus is the audit log part of Selftest.
type AuditStatus struct {
	audit.Status
	HeadRef string `json:"head_ref"` // SEQ:HASH, for `gate audit verify --expect-head`
	// Path and LastError shadow audit.Status's so that the redacted view
	// leaves them out instead of showing them empty.
	Path      string `json:"path,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// ServedCounters counts responses since start.
type ServedCounters struct {
	Live     int64 `json:"live"`
	Snapshot int64 `json:"snapshot"`
}

// LiveStatus is the time of the last live success.
type LiveStatus struct {
	LastSuccess *time.Time `json:"last_success,omitempty"`
}

// E2EStatus is the last recorded end-to-end pass.
type E2EStatus struct {
	LastPass *time.Time `json:"last_pass,omitempty"`
}

// AuthStatusBrief says how callers are authenticated, without naming a secret.
type AuthStatusBrief struct {
	Mode   string   `json:"mode"` // bearer or insecure-no-auth
	Tokens []string `json:"token_names"`
	Admin  bool     `json:"admin_enabled"`
}

func timePtr(nanos int64) *time.Time {
	if nanos == 0 {
		return nil
	}
	t := time.Unix(0, nanos).UTC()
	return &t
}

// selftest gathers the self-diagnosis.
func (s *Server) selftest() Selftest {
	now := time.Now().UTC()
	st := Selftest{Time: now, Build: s.info, Faults: s.faults.Active(),
		Counters: ServedCounters{Live: s.liveServed.Load(), Snapshot: s.snapServed.Load()},
		Live:     LiveStatus{LastSuccess: timePtr(s.lastLive.Load())},
		E2E:      E2EStatus{LastPass: timePtr(s.e2eLastPass.Load())},
		Auth:     AuthStatusBrief{Mode: "bearer", Tokens: s.tokens.Names(), Admin: s.admin != nil},
	}
	if s.opts.InsecureNoAuth {
		st.Auth.Mode = "insecure-no-auth"
	}
	add := func(name, status, detail string) {
		st.Checks = append(st.Checks, Check{Name: name, Status: status, Detail: detail})
	}

	b := s.brk.Snapshot()
	st.Breaker = BreakerStatus{State: b.State.String(), ConsecutiveFailures: b.Failures}
	if !b.OpenedAt.IsZero() {
		t := b.OpenedAt.UTC()
		st.Breaker.OpenedAt = &t
	}
	liveFailing := s.liveFailing.Load()
	switch {
	case b.State == breaker.Closed && liveFailing:
		add("live_generation", checkWarn, fmt.Sprintf("last live generation failed (%d consecutive failures, breaker opens at %d)", b.Failures, s.opts.BreakerThreshold))
	case b.State == breaker.Closed:
		add("live_generation", StatusOK, "circuit breaker closed, last live generation succeeded")
	default:
		add("live_generation", checkWarn, "circuit breaker "+b.State.String()+": serving snapshots with a Warning header")
	}

	snap, rejected, err := s.known.load(s.store, snapshot.KindText)
	for _, r := range rejected {
		st.Snapshot.Rejected = append(st.Snapshot.Rejected, r.Error())
	}
	usable := false
	if err == nil {
		age := snapshotAge(snap.GeneratedAt)
		g := snap.GeneratedAt.UTC()
		st.Snapshot = SnapshotStatus{Present: true, Verified: true, Kind: snap.Kind, GeneratedAt: &g,
			AgeSeconds: age.Seconds(), SHA256: snap.SHA256, Rejected: st.Snapshot.Rejected}
		usable = age <= s.opts.SnapshotMaxAge
		if usable {
			add("snapshot", StatusOK, fmt.Sprintf("verified %s snapshot, %s old", snap.Kind, age.Round(time.Second)))
		} else {
			add("snapshot", checkFail, fmt.Sprintf("newest verified snapshot is %s old, over the %s limit", age.Round(time.Second), s.opts.SnapshotMaxAge))
		}
	} else {
		add("snapshot", checkFail, "no verified snapshot: a live failure would answer 503")
	}
	if len(rejected) > 0 {
		add("snapshot_integrity", checkWarn, fmt.Sprintf("%d snapshot file(s) refused (%s) and never served", len(rejected), rejectSummary(rejected)))
	}

	st.Cache = CacheStatus{Dir: s.opts.CacheDir, Writable: true}
	if err := s.store.Writable(); err != nil {
		st.Cache.Writable, st.Cache.Error = false, err.Error()
		add("cache_writable", checkWarn, "cache directory unwritable: live payloads cannot be recorded, so snapshots are served")
	} else {
		add("cache_writable", StatusOK, "cache directory writable")
	}

	as := s.audit.Status()
	st.Audit = AuditStatus{Status: as, HeadRef: as.Head.String(), Path: as.Path, LastError: as.LastError}
	switch {
	case as.Damage != nil:
		add("audit_log", checkFail, fmt.Sprintf("audit log failed verification at open: line %d %s; a checkpoint entry records it and the chain verifies again from there (gate audit verify)", as.Damage.Line, as.Damage.Kind))
	case !as.Writable:
		add("audit_log", checkWarn, fmt.Sprintf("audit log unwritable; %d entries waiting, %d dropped", as.Pending, as.Dropped))
	case as.Dropped > 0:
		add("audit_log", checkWarn, fmt.Sprintf("%d audit entries could not be written (see audit_gap entries)", as.Dropped))
	default:
		add("audit_log", StatusOK, fmt.Sprintf("audit log writable, head at sequence %d", as.Head.Seq))
	}
	if hf := as.HeadFile; hf != nil {
		switch {
		case hf.WriteError != "":
			add("audit_head", checkWarn, "audit head file not written: "+hf.WriteError)
		case hf.AtOpen == audit.HeadFileAbsent || hf.AtOpen == audit.HeadFileUntrusted:
			add("audit_head", checkWarn, "audit head file "+hf.AtOpen+" at start: "+hf.Detail)
		default:
			add("audit_head", StatusOK, "audit head anchored in "+hf.Path)
		}
	}
	if as.Alg == audit.AlgHMACSHA256 {
		add("audit_chain", StatusOK, "HMAC-SHA-256 chain: entries cannot be rewritten without the key")
	} else {
		add("audit_chain", StatusOK, "plain SHA-256 chain (AUDIT_HMAC_KEY unset): anyone who can write the file can recompute it; record the head elsewhere or set a key")
	}

	if len(st.Faults) > 0 {
		kinds := make([]string, len(st.Faults))
		for i, f := range st.Faults {
			kinds[i] = f.Kind
		}
		add("fault_injection", checkWarn, "injected faults active: "+strings.Join(kinds, ", "))
	}
	if c, ok := s.tokenReloadCheck(); ok {
		st.Checks = append(st.Checks, c)
	}

	st.Status = StatusOK
	for _, c := range st.Checks {
		if c.Status != StatusOK {
			st.Status = StatusDegraded
		}
	}
	if (b.State != breaker.Closed || liveFailing) && !usable {
		st.Status = StatusFailing
	}
	return st
}

// redactedDetails replace the details of checks that may name a file or
// quote an error in the redacted view, by check name and status.
var redactedDetails = map[string]map[string]string{
	"audit_head": {
		StatusOK:  "audit head anchored in its head file (where: ask with the admin token)",
		checkWarn: "audit head file missing, untrusted or not written (details: ask with the admin token)",
	},
	"auth_reload": {
		StatusOK:  "token files loaded (files and times: ask with the admin token)",
		checkWarn: "a token file was rejected and the tokens in force stay (which file and why: ask with the admin token)",
	},
}

// redacted returns st as a metrics token sees it. File paths and error
// texts stay with the admin token: a scrape token is handed to every
// Prometheus and dashboard that reads /metrics, and where the gate keeps
// its files and what fails on them is of use to someone probing it, not to
// a scraper. Statuses, counts and times remain, so health checks and
// alerts read the same either way.
func (st Selftest) redacted() Selftest {
	st.Redacted = true
	st.Cache.Dir, st.Cache.Error = "", ""
	st.Audit.Path, st.Audit.LastError = "", ""
	st.Audit.Status.Path, st.Audit.Status.LastError = "", ""
	if d := st.Audit.Damage; d != nil {
		st.Audit.Damage = &audit.Problem{Line: d.Line, Seq: d.Seq, Kind: d.Kind}
	}
	if hf := st.Audit.HeadFile; hf != nil {
		st.Audit.HeadFile = &audit.HeadFileStatus{AtOpen: hf.AtOpen}
	}
	st.Snapshot.Rejected = nil
	checks := make([]Check, len(st.Checks))
	for i, c := range st.Checks {
		if byStatus, ok := redactedDetails[c.Name]; ok {
			c.Detail = byStatus[c.Status]
			if c.Detail == "" {
				c.Detail = "details: ask with the admin token"
			}
		}
		checks[i] = c
	}
	st.Checks = checks
	return st
}

// selftestHandler serves the full selftest to the admin token and the
// redacted one to metrics tokens, each authenticated and rate limited as
// its own caller.
func (s *Server) selftestHandler() http.Handler {
	metricsView := s.authenticated(s.tokens, s.serveSelftest(false))
	if s.admin == nil {
		return metricsView
	}
	adminView := s.authenticated(s.admin, s.serveSelftest(true))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, err := auth.ParseAuthorization(r.Header.Get("Authorization")); err == nil && s.admin.Contains(tok) {
			adminView.ServeHTTP(w, r)
			return
		}
		metricsView.ServeHTTP(w, r)
	})
}

func (s *Server) serveSelftest(full bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := s.selftest()
		if !full {
			st = st.redacted()
		}
		code := http.StatusOK
		if st.Status == StatusFailing {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, st)
	}
}

func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

// serveReadyz answers 200 once /metrics can answer 200: live generation is
// working, or a verified snapshot within the maximum age exists. It needs no
// token and has no rate limit, so it answers from what the gate already
// knows and never touches the cache directory (see knownSnapshot). When
// snapshot files were refused at their last read it says how many, by
// reason (never which files: that is for the admin selftest).
func (s *Server) serveReadyz(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{}
	if rejected := s.store.Rejected(); len(rejected) > 0 {
		body["snapshot_files_rejected"] = rejectCounts(rejected)
	}
	if s.brk.Snapshot().State == breaker.Closed && s.lastLive.Load() != 0 && !s.liveFailing.Load() {
		body["ready"], body["source"] = true, "live"
		writeJSON(w, http.StatusOK, body)
		return
	}
	if at := s.known.newest(); !at.IsZero() && snapshotAge(at) <= s.opts.SnapshotMaxAge {
		body["ready"], body["source"], body["age_seconds"] = true, "snapshot", int(snapshotAge(at).Seconds())
		writeJSON(w, http.StatusOK, body)
		return
	}
	w.Header().Set("Retry-After", "5")
	body["ready"], body["reason"] = false, "no live payload yet and no verified snapshot"
	writeJSON(w, http.StatusServiceUnavailable, body)
}

// rejectCounts counts rejected files by reason.
func rejectCounts(rs []*snapshot.RejectError) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		m[r.Reason]++
	}
	return m
}

// rejectSummary renders rejectCounts as "2 unauthenticated, 1 corrupt".
func rejectSummary(rs []*snapshot.RejectError) string {
	var parts []string
	for _, reason := range snapshot.Reasons {
		if n := rejectCounts(rs)[reason]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, reason))
		}
	}
	return strings.Join(parts, ", ")
}

// e2eState is the state file where the last end-to-end pass is persisted,
// authenticated with the cache key like the snapshots.
const e2eState = "e2e-last-pass.json"

type e2ePass struct {
	LastPass time.Time `json:"last_pass"`
}

func (s *Server) loadE2E() {
	b, err := s.store.LoadState(e2eState) // a refused file was reported
	if err != nil {
		return
	}
	var st e2ePass
	if err := json.Unmarshal(b, &st); err != nil || st.LastPass.IsZero() {
		s.log.Warn("ignoring unreadable e2e pass state", "file", e2eState)
		return
	}
	s.e2eLastPass.Store(st.LastPass.UnixNano())
	s.m.E2ELastPass.Set(float64(st.LastPass.UnixNano()) / 1e9)
}

func (s *Server) serveE2EPass(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UTC()
	b, _ := json.Marshal(e2ePass{LastPass: now})
	if err := s.store.SaveState(e2eState, b); err != nil {
		s.log.Error("e2e pass not persisted: cache directory unwritable", "error", err)
		writeError(w, http.StatusServiceUnavailable, "could not persist the e2e pass: cache directory unwritable")
		return
	}
	s.e2eLastPass.Store(now.UnixNano())
	s.m.E2ELastPass.Set(float64(now.UnixNano()) / 1e9)
	if !s.adminAudited(w, r, audit.EventE2EPass, map[string]string{"last_pass": now.Format(time.RFC3339Nano)}) {
		return
	}
	writeJSON(w, http.StatusOK, e2ePass{LastPass: now})
}

// HeaderAuditEntry names, on the answer to an admin call, the audit entry
// that records it, as SEQ:HASH (what gate audit verify --expect-head takes).
const HeaderAuditEntry = "X-Audit-Entry"

// adminAuditTimeout bounds how long an admin call waits for its audit
// entry to be durable.
const adminAuditTimeout = 10 * time.Second

// adminAudited writes the audit entry of an admin call and waits until it
// is durable, so that every admin call answered 2xx is in the audit log
// whatever happens next, a crash included. The entry names the admin
// token (by its name) and the client. When it is not durable within
// adminAuditTimeout the call is answered 503 and adminAudited returns
// false: the change was made, and its entry stays queued.
func (s *Server) adminAudited(w http.ResponseWriter, r *http.Request, event string, fields map[string]string) bool {
	fields["token"] = callerName(r)
	fields["client_ip"] = clientIP(r)
	ctx, cancel := context.WithTimeout(r.Context(), adminAuditTimeout)
	defer cancel()
	e, err := s.audit.Append(ctx, event, fields)
	if err != nil {
		s.log.Error("admin call not acknowledged: its audit entry is not durable", "event", event, "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, "the change was made, but its audit entry is not durable yet (it stays queued): "+err.Error())
		return false
	}
	w.Header().Set(HeaderAuditEntry, audit.Head{Seq: e.Seq, Hash: e.Hash}.String())
	return true
}

func (s *Server) serveBreakerReset(w http.ResponseWriter, r *http.Request) {
	before := s.brk.Snapshot().State
	changed := s.brk.Reset()
	s.log.Warn("metrics circuit breaker reset by admin", "was", before.String(), "token", callerName(r))
	if !s.adminAudited(w, r, audit.EventBreakerReset, map[string]string{"was": before.String()}) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": breaker.Closed.String(), "was": before.String(), "changed": changed})
}

// LatencyFault is the body of POST /admin/faults/latency. Durations are Go
// duration strings ("300ms", "3m").
type LatencyFault struct {
	Min  string `json:"min"`
	Max  string `json:"max"`
	Seed uint64 `json:"seed"`
	TTL  string `json:"ttl"`
}

// FailureFault is the body of POST /admin/faults/failure.
type FailureFault struct {
	Count int    `json:"count"` // 0: every generation until TTL
	TTL   string `json:"ttl"`
}

// parseDurations parses named duration fields, naming the first bad one.
func parseDurations(fields ...any) error {
	for i := 0; i < len(fields); i += 3 {
		name, raw, dst := fields[i].(string), fields[i+1].(string), fields[i+2].(*time.Duration)
		if raw == "" {
			return fmt.Errorf("field %q is required", name)
		}
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("field %q: not a duration such as \"300ms\"", name)
		}
		*dst = d
	}
	return nil
}

func (s *Server) serveFaultList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"faults": s.faults.Active()})
}

func (s *Server) serveFaultSet(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	var (
		a   fault.Active
		err error
	)
	switch kind {
	case fault.KindLatency:
		var (
			req           LatencyFault
			min, max, ttl time.Duration
		)
		if !decodeBody(w, r, &req) {
			return
		}
		if err = parseDurations("min", req.Min, &min, "max", req.Max, &max, "ttl", req.TTL, &ttl); err == nil {
			a, err = s.faults.SetLatency(min, max, req.Seed, ttl)
		}
	case fault.KindFailure:
		var (
			req FailureFault
			ttl time.Duration
		)
		if !decodeBody(w, r, &req) {
			return
		}
		if err = parseDurations("ttl", req.TTL, &ttl); err == nil {
			a, err = s.faults.SetFailure(req.Count, ttl)
		}
	default:
		writeError(w, http.StatusNotFound, "unknown fault kind: want latency or failure")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid fault: "+err.Error())
		return
	}
	s.log.Warn("metrics fault injected", "kind", a.Kind, "min", a.Min, "max", a.Max, "seed", a.Seed,
		"remaining", a.Remaining, "expires_at", a.ExpiresAt, "token", callerName(r))
	if !s.adminAudited(w, r, audit.EventFaultInjected, map[string]string{"kind": a.Kind, "min": a.Min, "max": a.Max,
		"seed": fmt.Sprint(a.Seed), "count": fmt.Sprint(a.Remaining), "expires_at": a.ExpiresAt.Format(time.RFC3339Nano)}) {
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) serveFaultClear(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	if kind != "" && kind != fault.KindLatency && kind != fault.KindFailure {
		writeError(w, http.StatusNotFound, "unknown fault kind: want latency or failure")
		return
	}
	cleared := s.faults.Clear(kind)
	for _, a := range cleared {
		s.log.Info("metrics fault injection ended", "kind", a.Kind, "reason", "cleared", "token", callerName(r))
		if !s.adminAudited(w, r, audit.EventFaultCleared, map[string]string{"kind": a.Kind, "reason": "cleared"}) {
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cleared": len(cleared) > 0, "faults": s.faults.Active()})
}

// maxBody bounds admin request bodies.
const maxBody = 64 << 10

// decodeBody reads a JSON body strictly: unknown fields, trailing data and
// wrong types are 400s that name the field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		writeError(w, http.StatusBadRequest, "trailing data after the JSON object")
		return false
	}
	if err == nil {
		return true
	}
	var (
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
		tooBig  *http.MaxBytesError
		msg     string
	)
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBody))
		return false
	case errors.Is(err, io.EOF):
		msg = "empty body: want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "malformed JSON: the body ends in the middle of a value"
	case errors.As(err, &syntax):
		msg = fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		msg = fmt.Sprintf("field %q: wrong type, want %s", typeErr.Field, typeErr.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// Echo the name only when it is too short to be a token.
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if len(name) < auth.MinTokenLen {
			msg = "unknown field " + name
		} else {
			msg = "unknown field (name not echoed)"
		}
	default:
		msg = "invalid JSON body"
	}
	writeError(w, http.StatusBadRequest, msg)
	return false
}
