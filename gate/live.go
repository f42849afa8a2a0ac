package gate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/breaker"
	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/gate/snapshot"
)

// Fallback reasons, the values of quannex_metrics_fallbacks_total{reason}.
const (
	ReasonError       = "error"
	ReasonTimeout     = "timeout"
	ReasonRecord      = "record"
	ReasonBreakerOpen = "breaker_open"
)

// Headers the gate sets on /metrics responses.
const (
	HeaderSource       = "X-Metrics-Source"
	HeaderReprDigest   = "Repr-Digest"
	HeaderFallback     = "X-Metrics-Fallback-Reason"
	WarningStale       = `110 - "Response is Stale"`
	acceptedTextFormat = expfmt.FmtText
)

var acceptedFormats = []expfmt.Format{expfmt.FmtOpenMetrics_1_0_0, expfmt.FmtText}

var (
	errBreakerOpen = errors.New("circuit breaker open")
	errRecord      = errors.New("recording the payload failed")
)

// payload is one generated, recorded live body.
type payload struct {
	body        []byte
	contentType string
	generatedAt time.Time
	digest      string // Repr-Digest header value
}

// negotiate picks text 0.0.4 or OpenMetrics 1.0.0 from the Accept header.
func negotiate(r *http.Request) (kind string, format expfmt.Format) {
	f := expfmt.NegotiateAccept(r.Header, acceptedFormats...)
	if f.FormatType() == expfmt.TypeOpenMetrics {
		return snapshot.KindOpenMetrics, f
	}
	return snapshot.KindText, f
}

func formatFor(kind string) expfmt.Format {
	if kind == snapshot.KindOpenMetrics {
		return expfmt.FmtOpenMetrics_1_0_0 + "; escaping=underscores"
	}
	return acceptedTextFormat + "; escaping=underscores"
}

// live returns a live payload of kind, or the reason it could not. Concurrent
// callers share one generation per kind; the breaker sees one outcome per
// generation, not one per caller. The text and OpenMetrics generations run
// side by side, so each reports on the ticket it was admitted with: a
// generation that ends after the breaker moved does not move it again.
func (s *Server) live(kind string) (*payload, string, error) {
	v, err, _ := s.flight.Do(kind, func() (any, error) {
		ticket, ok := s.brk.Allow()
		if !ok {
			return nil, errBreakerOpen
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.GenerationTimeout)
		defer cancel()
		p, err := s.generate(ctx, kind)
		s.liveFailing.Store(err != nil)
		if err != nil {
			s.brk.Failure(ticket)
			return nil, err
		}
		s.brk.Success(ticket)
		return p, nil
	})
	if err != nil {
		return nil, fallbackReason(err), err
	}
	return v.(*payload), "", nil
}

func fallbackReason(err error) string {
	switch {
	case errors.Is(err, errBreakerOpen):
		return ReasonBreakerOpen
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, errRecord):
		return ReasonRecord
	default:
		return ReasonError
	}
}

// generate produces and records one live payload within ctx's deadline. The
// work runs in its own goroutine so that a collector that hangs cannot hold
// the request past the deadline; that goroutine ends when the collector
// returns, and its result is then discarded.
func (s *Server) generate(ctx context.Context, kind string) (*payload, error) {
	type result struct {
		p   *payload
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := s.generateNow(ctx, kind)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("generate metrics: %w", ctx.Err())
	}
}

func (s *Server) generateNow(ctx context.Context, kind string) (p *payload, err error) {
	defer func() {
		if r := recover(); r != nil { // a panicking collector is a generation failure, not a crash
			err = fmt.Errorf("generate metrics: panic: %v", r)
		}
	}()
	if err := s.faults.Apply(ctx); err != nil {
		return nil, fmt.Errorf("generate metrics: %w", err)
	}
	mfs, err := s.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	if regs := s.counters.Observe(mfs); len(regs) > 0 {
		s.counterRegressed(regs)
	}
	format := formatFor(kind)
	var buf bytes.Buffer
	buf.Grow(32 << 10)
	enc := expfmt.NewEncoder(&buf, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, fmt.Errorf("encode metrics: %w", err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			return nil, fmt.Errorf("encode metrics: %w", err)
		}
	}
	body := buf.Bytes()
	var sum [sha256.Size]byte
	if kind == snapshot.KindText {
		body, sum = integrity.AppendLiveSHASum(body) // one pass for LIVESHA and Repr-Digest
	} else {
		sum = sha256.Sum256(body)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("generate metrics: %w", ctx.Err())
	}
	now := time.Now().UTC()
	meta := snapshot.Meta{Kind: kind, ContentType: string(format), GeneratedAt: now}
	if err := s.store.RecordSum(meta, body, sum); err != nil {
		return nil, fmt.Errorf("%w: %w", errRecord, err)
	}
	s.known.recorded(now)
	s.lastLive.Store(now.UnixNano())
	s.m.LiveLastSuccess.Set(float64(now.UnixNano()) / 1e9)
	return &payload{body: body, contentType: string(format), generatedAt: now, digest: integrity.ReprDigestOf(sum)}, nil
}

func (s *Server) counterRegressed(regs []integrity.Regression) {
	for _, r := range regs {
		s.m.CounterRegressions.Inc()
		s.log.Error("metrics integrity: counter went backwards between live payloads",
			"series", r.Series, "before", r.Before, "after", r.After)
		s.audit.Record(audit.EventCounterChange, map[string]string{
			"series": r.Series, "before": strconv.FormatFloat(r.Before, 'g', -1, 64),
			"after": strconv.FormatFloat(r.After, 'g', -1, 64)})
	}
}

// serveMetrics answers an authenticated /metrics request.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	kind, _ := negotiate(r)
	source, code := metrics.SourceLive, http.StatusOK

	p, reason, err := s.live(kind)
	if err == nil {
		s.endFallbackEpisode()
		h := w.Header()
		h.Set("Content-Type", p.contentType)
		h.Set(HeaderSource, metrics.SourceLive)
		h.Set(HeaderReprDigest, p.digest)
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Length", strconv.Itoa(len(p.body)))
		s.sign(h, code)
		w.WriteHeader(code)
		_, _ = w.Write(p.body)
		s.liveServed.Add(1)
	} else {
		source, code = s.serveFallback(w, kind, reason, err)
	}
	s.m.Requests.WithLabelValues(source, strconv.Itoa(code)).Inc()
	s.m.Duration.WithLabelValues(source).Observe(time.Since(start).Seconds())
}

// serveFallback answers with the newest verified snapshot, or 503 when none
// is usable. It never answers 500.
func (s *Server) serveFallback(w http.ResponseWriter, kind, reason string, cause error) (source string, code int) {
	s.m.Fallbacks.WithLabelValues(reason).Inc()
	s.startFallbackEpisode(reason, cause)
	snap, _, err := s.known.load(s.store, kind)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set(HeaderFallback, reason)
	var age time.Duration
	if err == nil {
		age = snapshotAge(snap.GeneratedAt)
	}
	if err != nil || age > s.opts.SnapshotMaxAge {
		detail := "no verified snapshot is available"
		if err == nil {
			detail = fmt.Sprintf("the newest verified snapshot is %s old, more than the %s allowed", age.Round(time.Second), s.opts.SnapshotMaxAge)
		}
		s.log.Error("metrics unavailable: live generation failed and no usable snapshot for fallback",
			"reason", reason, "detail", detail)
		h.Set("Retry-After", strconv.Itoa(s.retryAfterSeconds()))
		h.Set(HeaderSource, metrics.SourceNone)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		body := []byte("metrics unavailable: live generation failed (" + reason + ") and " + detail + "\n")
		h.Set(HeaderReprDigest, integrity.ReprDigest(body))
		s.sign(h, http.StatusServiceUnavailable)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(body)
		return metrics.SourceNone, http.StatusServiceUnavailable
	}
	h.Set("Content-Type", snap.ContentType)
	h.Set(HeaderSource, metrics.SourceSnapshot)
	h.Set("Warning", WarningStale)
	h.Set("Age", strconv.Itoa(int(age.Seconds())))
	h.Set(HeaderReprDigest, integrity.ReprDigest(snap.Body))
	h.Set("Content-Length", strconv.Itoa(len(snap.Body)))
	s.sign(h, http.StatusOK)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(snap.Body)
	s.snapServed.Add(1)
	return metrics.SourceSnapshot, http.StatusOK
}

// retryAfterSeconds suggests when live generation may work again: the rest
// of the breaker cooldown when it is open, else one cooldown.
func (s *Server) retryAfterSeconds() int {
	b := s.brk.Snapshot()
	wait := s.opts.BreakerCooldown
	if b.State == breaker.Open {
		wait -= time.Since(b.OpenedAt)
	}
	return max(1, int(wait.Seconds()+0.999))
}

func (s *Server) startFallbackEpisode(reason string, cause error) {
	if s.inFallback.CompareAndSwap(false, true) {
		s.log.Warn("metrics fallback: serving snapshots", "reason", reason, "error", cause.Error())
		s.audit.Record(audit.EventSnapshotFallback, map[string]string{"phase": "start", "reason": reason, "error": cause.Error()})
	}
}

func (s *Server) endFallbackEpisode() {
	if s.inFallback.Load() && s.inFallback.CompareAndSwap(true, false) {
		s.log.Info("metrics fallback ended: serving live again")
		s.audit.Record(audit.EventSnapshotFallback, map[string]string{"phase": "end"})
	}
}

// snapshotAge is how old a snapshot generated at at is: never negative (a
// snapshot the store loads is at most snapshot.MaxClockSkew ahead).
func snapshotAge(at time.Time) time.Duration { return max(0, time.Since(at)) }

// cacheFileRejected logs, counts and audits a cache file the store refused
// (a slot or the e2e state); the store reports each file once until it
// changes. A file written under another key is what every restart without
// GATE_CACHE_KEY finds: noted, not alarmed about. The rest page through
// quannex_snapshot_rejected_total (config/alerts.yml, GateSnapshotRejected).
func (s *Server) cacheFileRejected(r *snapshot.RejectError) {
	s.m.SnapshotRejected.WithLabelValues(r.Reason).Inc()
	level := slog.LevelError
	switch r.Reason {
	case snapshot.ReasonOtherKey:
		level = slog.LevelInfo
	case snapshot.ReasonFuture, snapshot.ReasonUnreadable:
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "metrics snapshot failed verification and will not be served",
		"file", r.File, "reason", r.Reason, "detail", r.Detail)
	s.audit.Record(audit.EventSnapshotRejected, map[string]string{"file": r.File, "reason": r.Reason, "detail": r.Detail})
}

// serveSelf answers /metrics/self: the gate's own registry gathered and
// encoded directly, never recorded, never from a snapshot, not subject to
// injected generator faults, and not counted in the /metrics request
// metrics.
//
// It exists because a snapshot is frozen at the moment it was recorded:
// while /metrics falls back, the breaker state, fallback counters and
// latency histogram inside the served snapshot are the ones from before the
// failure, so alerts on them could never fire. Scrape /metrics/self for the
// gate's health (the alert rules, the dashboard and the GameDay harness do)
// and /metrics for the protected payload.
func (s *Server) serveSelf(w http.ResponseWriter, r *http.Request) {
	_, format := negotiate(r)
	mfs, err := s.reg.Gather()
	if err != nil && len(mfs) == 0 {
		writeError(w, http.StatusServiceUnavailable, "gather failed")
		return
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			writeError(w, http.StatusServiceUnavailable, "encode failed")
			return
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		_ = c.Close()
	}
	h := w.Header()
	h.Set("Content-Type", string(format))
	h.Set(HeaderSource, "self")
	h.Set(HeaderReprDigest, integrity.ReprDigest(buf.Bytes()))
	h.Set("Cache-Control", "no-store")
	s.sign(h, http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
