// Package gate is the Metrics Integrity Gate: an HTTP server whose /metrics
// endpoint serves live payloads that were first recorded and digested, falls
// back to the newest verified snapshot behind a circuit breaker, and never
// answers /metrics with a 500. With a SigningKey its responses carry RFC
// 9421 signatures (sign.go).
//
// New binds the listener, so Addr reports the real port even for ":0";
// Serve runs until its context ends and then shuts down gracefully
// (draining requests, flushing the audit log). cmd/gate only parses flags
// into Options and calls these; tests and the GameDay harness run the gate
// in-process the same way.
//
// The pieces live in sub-packages: auth (tokens), ratelimit, breaker,
// snapshot (the authenticated cache), integrity (LIVESHA, Repr-Digest,
// counters), audit (the hash-chained log and its head file), fault
// (injection state), metrics (names and collectors), httpsig (RFC 9421
// signatures), connlimit (connections in total and per source address) and
// tally (bounded reports of what a flood repeats). This package wires them
// and owns everything HTTP, the probe listener (probe.go) and the flood
// reports (floods.go) included. What it holds against whom is in
// docs/THREATS.md.
package gate

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/breaker"
	"github.com/quannex/gameday/gate/build"
	"github.com/quannex/gameday/gate/connlimit"
	"github.com/quannex/gameday/gate/fault"
	"github.com/quannex/gameday/gate/httpsig"
	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/gate/lease"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/gate/ratelimit"
	"github.com/quannex/gameday/gate/snapshot"
)

// Defaults for Options fields left zero.
const (
	DefaultListen            = ":3000"
	DefaultCacheDir          = ".cache"
	DefaultAuditLog          = "audit/audit.jsonl"
	DefaultBreakerThreshold  = 3
	DefaultBreakerCooldown   = 10 * time.Second
	DefaultGenerationTimeout = time.Second
	DefaultSnapshotMaxAge    = 24 * time.Hour
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultMaxConnections    = 512
	// DefaultMaxConnectionsPerAddress is one source address's share of
	// the connections, unless a quarter of MaxConnections is smaller.
	DefaultMaxConnectionsPerAddress = 64
	DefaultTokenFilePoll            = 500 * time.Millisecond
	DefaultWebConfigPoll            = 10 * time.Second
	// DefaultSignatureValidity: a few scrape intervals, no more.
	DefaultSignatureValidity = 5 * time.Minute
	// MaxHeaderBytes bounds request headers; larger requests get 431.
	MaxHeaderBytes = 16 << 10
	// NoConnectionLimit as Options.MaxConnections lifts the cap.
	NoConnectionLimit = -1
)

// DefaultRateLimit is the per-token quota unless overridden.
var DefaultRateLimit = ratelimit.Policy{Limit: 20, Window: time.Minute}

// DefaultAuthFailureLimit is how many failed authentications one client IP
// may make before it gets 429 instead of 401.
var DefaultAuthFailureLimit = ratelimit.Policy{Limit: 10, Window: time.Minute}

// Options configure a Server. Zero values take the defaults above.
type Options struct {
	Listen   string
	CacheDir string
	AuditLog string
	Logger   *slog.Logger

	// Tokens may read /metrics and /metrics/selftest. At least one is
	// required unless InsecureNoAuth is set.
	Tokens         []auth.Token
	InsecureNoAuth bool
	// AdminToken enables /e2e/pass and /admin/…; nil: those do not exist.
	AdminToken *auth.Token

	// TokensFile, instead of Tokens, names a file of metrics tokens: one
	// METRICS_TOKENS entry per line, '#' comments and blank lines ignored.
	// AdminTokenFile, instead of AdminToken, does the same for admin
	// tokens (a bare token is named "admin"). Both are read in New and
	// re-read when their content changes (checked every TokenFilePoll) and
	// on ReloadTokens; a file that fails validation keeps the tokens in
	// force. TokenFilePoll < 0: no polling, ReloadTokens only.
	TokensFile     string
	AdminTokenFile string
	TokenFilePoll  time.Duration

	RateLimit        ratelimit.Policy            // per caller name
	RateLimits       map[string]ratelimit.Policy // overrides by caller name
	AuthFailureLimit ratelimit.Policy            // per client IP

	// SigningKey, if set, signs every /metrics and /metrics/self response
	// with RFC 9421 HTTP Message Signatures (see sign.go); SigningKeyID is
	// its keyid parameter, "" for httpsig.KeyID of the public key.
	SigningKey   ed25519.PrivateKey
	SigningKeyID string
	// SignatureValidity is how long after it was made a signature holds:
	// its expires parameter (0: DefaultSignatureValidity). A verifier
	// refuses it afterwards, so a recorded response cannot be replayed as
	// a fresh one for longer.
	SignatureValidity time.Duration

	AuditKey []byte // HMAC key for the audit chain; nil: plain SHA-256
	// CacheKey authenticates what the gate reads back from the cache
	// directory (snapshot slots, the e2e pass): HMAC-SHA-256, at least
	// snapshot.MinKeyLen bytes. nil: a random key for this process only,
	// so snapshots and the e2e pass do not survive a restart, and nothing
	// written before the start is ever served or believed.
	CacheKey       []byte
	FaultInjection bool // enables /admin/faults (needs AdminToken)
	// AuditMaxBytes is the size past which the audit log's active file is
	// renamed to the next numbered segment (0: audit.DefaultMaxBytes).
	AuditMaxBytes int64
	// AuditHeadFile anchors the audit head outside the log: replaced after
	// every durable batch, checked against the log at start (a cut tail
	// is damage), read by `gate audit verify`. Best in a second location
	// that whoever can write the audit directory cannot write. "": the
	// log's path with ".head" appended (audit.DefaultHeadFile).
	AuditHeadFile string
	// AuditSync, if set, replaces the audit log's fsync: tests use it to
	// make the disk slow.
	AuditSync func(*os.File) error

	BreakerThreshold  int
	BreakerCooldown   time.Duration
	GenerationTimeout time.Duration
	SnapshotMaxAge    time.Duration
	ShutdownTimeout   time.Duration
	// MaxConnections caps the connections open at once, idle keep-alive
	// ones included; a connection over the cap waits in the kernel's
	// accept queue until one closes. It bounds what a flood of clients can
	// take (file descriptors, goroutines, buffers) however cheap each
	// request is. 0 takes DefaultMaxConnections; NoConnectionLimit (any
	// negative value) lifts the cap.
	MaxConnections int
	// MaxConnectionsPerAddress caps the connections one source address
	// (an IPv6 /64) holds open at once; one over its share is closed at
	// once, so a single client cannot take every connection from the
	// others (health probes included). 0 takes
	// DefaultMaxConnectionsPerAddress, or a quarter of MaxConnections
	// when that is smaller; NoConnectionLimit lifts the cap. A share as
	// large as MaxConnections is refused by Validate.
	MaxConnectionsPerAddress int
	// ProbeListen, if set, is a second address serving /healthz and
	// /readyz only, over plain HTTP, with connection limits of its own:
	// kubelet probes there stay answered when the main listener is full
	// or requires client certificates. Empty: none.
	ProbeListen string

	// WebConfigFile names an exporter-toolkit web config (TLS, client
	// certificate verification; see webconfig.go); empty: plain HTTP. It
	// is checked in Validate; certificates are re-read per handshake and
	// every WebConfigPoll (0: DefaultWebConfigPoll; < 0: per handshake
	// only), so that quannex_web_config_last_reload_successful tells a
	// broken set even while every client keeps its connection open.
	WebConfigFile string
	WebConfigPoll time.Duration

	// Registry, if set, is the registry the gate serves and registers its
	// own collectors on; embedders and tests add theirs to it.
	Registry *prometheus.Registry
}

// Validate fills defaults and reports the first invalid field by name.
func (o *Options) Validate() error {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir
	}
	if o.AuditLog == "" {
		o.AuditLog = DefaultAuditLog
	}
	if o.AuditHeadFile == "" {
		o.AuditHeadFile = audit.DefaultHeadFile(o.AuditLog)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RateLimit == (ratelimit.Policy{}) {
		o.RateLimit = DefaultRateLimit
	}
	if o.AuthFailureLimit == (ratelimit.Policy{}) {
		o.AuthFailureLimit = DefaultAuthFailureLimit
	}
	setDefault(&o.BreakerThreshold, DefaultBreakerThreshold)
	setDefault(&o.BreakerCooldown, DefaultBreakerCooldown)
	setDefault(&o.GenerationTimeout, DefaultGenerationTimeout)
	setDefault(&o.SnapshotMaxAge, DefaultSnapshotMaxAge)
	setDefault(&o.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&o.MaxConnections, DefaultMaxConnections)
	if o.MaxConnectionsPerAddress == 0 {
		o.MaxConnectionsPerAddress = DefaultMaxConnectionsPerAddress
		if o.MaxConnections > 0 {
			o.MaxConnectionsPerAddress = max(1, min(DefaultMaxConnectionsPerAddress, o.MaxConnections/4))
		}
	}
	setDefault(&o.TokenFilePoll, DefaultTokenFilePoll)
	setDefault(&o.WebConfigPoll, DefaultWebConfigPoll)
	setDefault(&o.SignatureValidity, DefaultSignatureValidity)

	switch {
	case len(o.Tokens) == 0 && o.TokensFile == "" && !o.InsecureNoAuth:
		return errors.New("Tokens: no metrics tokens configured (set METRICS_TOKENS or METRICS_TOKENS_FILE, or pass --insecure-no-auth for local development only)")
	case len(o.Tokens) > 0 && o.TokensFile != "":
		return errors.New("TokensFile: set Tokens or TokensFile, not both")
	case o.AdminToken != nil && o.AdminTokenFile != "":
		return errors.New("AdminTokenFile: set AdminToken or AdminTokenFile, not both")
	case o.BreakerThreshold < 0:
		return errors.New("BreakerThreshold: must be positive")
	case o.BreakerCooldown < 0:
		return errors.New("BreakerCooldown: must be positive")
	case o.GenerationTimeout < 0:
		return errors.New("GenerationTimeout: must be positive")
	case o.SnapshotMaxAge < 0:
		return errors.New("SnapshotMaxAge: must be positive")
	case o.AuditMaxBytes < 0:
		return errors.New("AuditMaxBytes: must be positive")
	case o.SignatureValidity < 0:
		return errors.New("SignatureValidity: must be positive")
	case o.MaxConnections > 1 && o.MaxConnectionsPerAddress >= o.MaxConnections:
		return fmt.Errorf("MaxConnectionsPerAddress: %d must be below MaxConnections (%d), or one address can take every connection", o.MaxConnectionsPerAddress, o.MaxConnections)
	case o.SigningKey != nil && len(o.SigningKey) != ed25519.PrivateKeySize:
		return errors.New("SigningKey: not an ed25519 private key")
	case o.CacheKey != nil && len(o.CacheKey) < snapshot.MinKeyLen:
		return fmt.Errorf("CacheKey: must be at least %d bytes", snapshot.MinKeyLen)
	case o.FaultInjection && o.AdminToken == nil && o.AdminTokenFile == "":
		return errors.New("FaultInjection (--enable-fault-injection): needs an admin token (GATE_ADMIN_TOKEN or GATE_ADMIN_TOKEN_FILE)")
	}
	if o.AdminToken != nil {
		for _, t := range o.Tokens {
			if t.Name == "admin" {
				return errors.New(`Tokens: the name "admin" is reserved for GATE_ADMIN_TOKEN`)
			}
		}
	}
	if o.AuditKey != nil && subtle.ConstantTimeCompare(o.AuditKey, o.CacheKey) == 1 {
		return errors.New("CacheKey: one secret in two roles: the cache key (GATE_CACHE_KEY) is also the audit key (AUDIT_HMAC_KEY); give each role its own")
	}
	var admin *auth.Set
	if o.AdminToken != nil {
		admin = auth.NewSet([]auth.Token{*o.AdminToken})
	}
	if err := disjoint(auth.NewSet(o.Tokens), admin, o.keys()); err != nil {
		return fmt.Errorf("Tokens: %w (METRICS_TOKENS, GATE_ADMIN_TOKEN)", err)
	}
	if err := CheckWebConfig(o.WebConfigFile); err != nil {
		return fmt.Errorf("WebConfigFile: %w", err)
	}
	if filepath.Clean(filepath.Dir(o.AuditLog)) == filepath.Clean(o.CacheDir) {
		return errors.New("AuditLog: must not be inside the cache directory (an unwritable cache must not stop auditing)")
	}
	if filepath.Clean(filepath.Dir(o.AuditHeadFile)) == filepath.Clean(o.CacheDir) {
		return errors.New("AuditHeadFile: must not be inside the cache directory")
	}
	return nil
}

func setDefault[T int | time.Duration](p *T, def T) {
	if *p == 0 {
		*p = def
	}
}

// Server is a running gate.
type Server struct {
	opts Options
	log  *slog.Logger
	info build.Info

	ln   net.Listener
	http *http.Server
	tls  *tlsServing // nil: plain HTTP

	probeLn   net.Listener // nil without ProbeListen
	probeHTTP *http.Server

	reg      *prometheus.Registry
	m        *metrics.Gate
	store    *snapshot.Store
	brk      *breaker.Breaker
	audit    *audit.Log
	tokens   *auth.Keyring
	admin    *auth.Keyring // nil without an admin token
	limiter  *ratelimit.Limiter
	ipLimit  *ratelimit.Limiter
	faults   *fault.Set
	lease    lease.Lease // the GameDay lease (lease.go)
	counters *integrity.Counters
	flight   singleflight.Group
	signer   *httpsig.Signer // nil: responses are not signed
	floods   floods          // bounded reports of failed auth, refused connections, failed handshakes

	inFallback   atomic.Bool  // a snapshot_fallback episode is open
	liveServed   atomic.Int64 // for selftest
	snapServed   atomic.Int64
	lastLive     atomic.Int64  // unix nanos of the last live success
	liveFailing  atomic.Bool   // the last live generation failed
	e2eLastPass  atomic.Int64  // unix nanos; 0: never
	known        knownSnapshot // for /readyz, which reads no file
	shutdownOnce sync.Once

	// Token files: see reload.go. reloadMu serialises re-reads and guards
	// each tokenFile's state; watchCtx ends when Shutdown begins.
	tokenFiles  []*tokenFile
	reloadMu    sync.Mutex
	watchCtx    context.Context
	watchCancel context.CancelFunc
	watchDone   sync.WaitGroup
}

// New validates opts, opens the cache and audit log, binds the listener and
// records a first live snapshot. The server does not accept requests until
// Serve is called.
func New(opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("gate options: %w", err)
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		info:     build.Current(),
		counters: integrity.NewCounters(),
	}
	if err := s.initTokens(); err != nil {
		return nil, fmt.Errorf("gate options: %w", err)
	}
	s.signer = s.newSigner()
	s.watchCtx, s.watchCancel = context.WithCancel(context.Background())
	s.reg = opts.Registry
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	s.m = metrics.New(s.reg, s.info)
	s.floods = s.newFloods()
	// Every known label value starts at 0, so rate() and alert rules see a
	// series from the first scrape instead of an absent one.
	for _, r := range []string{ReasonError, ReasonTimeout, ReasonRecord, ReasonBreakerOpen} {
		s.m.Fallbacks.WithLabelValues(r)
	}
	for _, st := range breaker.States {
		s.m.BreakerTransitions.WithLabelValues(st.String())
	}
	for _, r := range []string{"missing", "wrong_scheme", "malformed", "unknown_token", "token_in_query"} {
		s.m.AuthFailures.WithLabelValues(r)
	}
	for _, r := range snapshot.Reasons {
		s.m.SnapshotRejected.WithLabelValues(r)
	}
	for _, ev := range audit.Events {
		s.m.AuditEntries.WithLabelValues(ev)
	}
	for _, name := range s.tokens.Names() {
		s.m.RateLimited.WithLabelValues(name)
	}
	s.m.Requests.WithLabelValues(metrics.SourceLive, "200")
	s.m.Requests.WithLabelValues(metrics.SourceSnapshot, "200")
	s.m.Duration.WithLabelValues(metrics.SourceLive)
	s.limiter = ratelimit.New(opts.RateLimit, ratelimit.WithOverrides(opts.RateLimits))
	s.ipLimit = ratelimit.New(opts.AuthFailureLimit)
	// The audit log first: what Open finds in the cache is audited.
	s.audit = audit.Open(opts.AuditLog, audit.Options{
		Key:      opts.AuditKey,
		MaxBytes: opts.AuditMaxBytes,
		Sync:     opts.AuditSync,
		HeadFile: opts.AuditHeadFile,
		Logger:   s.log,
		OnWrite: func(event string) {
			s.m.AuditEntries.WithLabelValues(event).Inc()
		},
	})
	key := snapshot.EphemeralKey()
	if opts.CacheKey != nil {
		key, _ = snapshot.NewKey(opts.CacheKey) // Validate checked its length
	} else {
		s.log.Info("cache key: none configured (GATE_CACHE_KEY), so a key of this process authenticates the cache: snapshots and the e2e pass recorded before this start are not used")
	}
	s.store = snapshot.Open(opts.CacheDir, snapshot.Options{Key: key, OnReject: s.cacheFileRejected})
	s.known.recorded(s.store.LastRecorded()) // Open verified every slot it found
	s.brk = breaker.New(breaker.Options{
		Threshold: opts.BreakerThreshold,
		Cooldown:  opts.BreakerCooldown,
		OnChange:  s.breakerChanged,
	})
	s.faults = fault.New(s.faultEnded)
	s.registerFuncs()
	s.loadE2E()

	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		s.audit.Close(context.Background())
		return nil, fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	s.ln = connlimit.Listen(ln, connlimit.Options{Total: opts.MaxConnections, PerAddress: opts.MaxConnectionsPerAddress,
		OnRefuse: s.connectionRefused})
	if opts.ProbeListen != "" {
		if err := s.listenProbes(); err != nil {
			ln.Close()
			s.audit.Close(context.Background())
			return nil, err
		}
	}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          log.New(serverErrorLog{s}, "", 0),
	}
	if opts.WebConfigFile != "" {
		if s.tls, err = newTLSServing(opts.WebConfigFile, s.log, s.m.WebConfigReloadOK, s.m.WebConfigReloads); err != nil {
			s.closeListeners()
			s.audit.Close(context.Background())
			return nil, fmt.Errorf("WebConfigFile: %w", err)
		}
	}
	if s.tls != nil {
		s.http.Handler = s.tls.headers(s.http.Handler)
		s.http.TLSConfig = &tls.Config{GetConfigForClient: s.tls.configForClient}
		if !slices.Contains(s.tls.protos, "h2") {
			s.http.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}
	}

	if opts.InsecureNoAuth {
		s.log.Warn("INSECURE: started with --insecure-no-auth; /metrics is open to anyone who can reach " + ln.Addr().String())
	}
	if opts.FaultInjection {
		s.log.Warn("metrics fault injection enabled (--enable-fault-injection): the admin token can slow or fail live generation through /admin/faults; for GameDays, not for production")
	}
	if err := s.store.Writable(); err != nil {
		s.log.Warn("cache directory is not writable: live metrics will fall back to snapshots until it is",
			"cache_dir", opts.CacheDir, "error", err)
	}
	s.warmUp()
	s.audit.Record(audit.EventGateStart, map[string]string{
		"version": s.info.Version, "commit": s.info.Commit, "addr": ln.Addr().String(),
		"fault_injection": fmt.Sprint(opts.FaultInjection), "insecure_no_auth": fmt.Sprint(opts.InsecureNoAuth),
		"web_config":      fmt.Sprint(opts.WebConfigFile != ""),
		"audit_head_file": opts.AuditHeadFile, "audit_head_file_at_open": headFileAtOpen(s.audit.Status()),
	})
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Registry is the registry /metrics serves.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// AuditHead returns the audit log's newest durable entry.
func (s *Server) AuditHead() audit.Head { return s.audit.Head() }

// Serve accepts requests until ctx ends, then shuts down: it stops
// accepting, drains in-flight requests for up to ShutdownTimeout, and
// flushes and closes the audit log. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.serveHTTP() }() // exits when Shutdown closes the listener
	if s.probeHTTP != nil {
		go func() { errc <- s.probeHTTP.Serve(s.probeLn) }() // exits when Shutdown closes the probe listener
	}
	s.watchDone.Add(1)
	go func() { // exits when Shutdown begins
		defer s.watchDone.Done()
		s.watchTokenFiles()
	}()
	if s.tls != nil && s.opts.WebConfigPoll > 0 {
		s.watchDone.Add(1)
		go func() { // exits when Shutdown begins
			defer s.watchDone.Done()
			s.tls.watch(s.watchCtx, s.opts.WebConfigPoll)
		}()
	}
	s.log.Info("gate serving metrics", "addr", s.Addr().String(), "probe_addr", s.probeAddr(), "version", s.info.Version,
		"tokens", len(s.tokens.Names()), "admin", s.admin != nil, "fault_injection", s.opts.FaultInjection,
		"web_config", s.opts.WebConfigFile)
	select {
	case err := <-errc:
		s.Shutdown(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	return s.Shutdown(sctx)
}

// serveHTTP serves on the bound listener: plain HTTP, or TLS as the web
// config says (webconfig.go; New set the TLS config).
func (s *Server) serveHTTP() error {
	if s.tls == nil {
		return s.http.Serve(s.ln)
	}
	return s.http.ServeTLS(s.ln, "", "")
}

// Shutdown drains requests and closes the audit log. Safe to call more than
// once; only the first call does the work.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdownOnce.Do(func() {
		s.log.Info("gate shutting down: draining requests")
		s.stopTokenReloads()
		if e := s.http.Shutdown(ctx); e != nil {
			err = fmt.Errorf("shutdown http: %w", e)
		}
		if s.probeHTTP != nil {
			if e := s.probeHTTP.Shutdown(ctx); e != nil {
				err = errors.Join(err, fmt.Errorf("shutdown probe listener: %w", e))
			}
		}
		for _, a := range s.faults.Clear("") {
			s.audit.Record(audit.EventFaultCleared, map[string]string{"kind": a.Kind, "reason": "shutdown"})
		}
		s.floods.close()
		s.audit.Record(audit.EventGateStop, nil)
		if e := s.audit.Close(ctx); e != nil {
			err = errors.Join(err, e)
		}
		s.log.Info("gate stopped", "audit_head_seq", s.audit.Head().Seq)
	})
	return err
}

func (s *Server) registerFuncs() {
	states := make([]string, len(breaker.States))
	for i, st := range breaker.States {
		states[i] = st.String()
	}
	metrics.RegisterFuncs(s.reg, metrics.Funcs{
		BreakerState:       func() string { return s.brk.Snapshot().State.String() },
		BreakerStates:      states,
		SnapshotRecordedAt: s.store.LastRecorded,
		AuditHeadSeq:       func() float64 { return float64(s.audit.Head().Seq) },
		AuditWriteFailures: func() float64 { return float64(s.audit.Status().WriteFailures) },
		AuditDropped:       func() float64 { return float64(s.audit.Status().Dropped) },
		AuditPending:       func() float64 { return float64(s.audit.Status().Pending) },
		AuditDamageFound:   func() bool { return s.audit.Status().Damage != nil },
		FaultActive: func(kind string) bool {
			for _, a := range s.faults.Active() {
				if a.Kind == kind {
					return true
				}
			}
			return false
		},
		FaultKinds: []string{fault.KindLatency, fault.KindFailure},
	})
}

func (s *Server) breakerChanged(c breaker.Change) {
	s.m.BreakerTransitions.WithLabelValues(c.To.String()).Inc()
	s.log.Warn("metrics circuit breaker "+c.To.String(), "from", c.From.String(), "to", c.To.String(),
		"reason", c.Reason, "consecutive_failures", c.Failures)
	s.audit.Record(audit.EventBreakerChange, map[string]string{
		"from": c.From.String(), "to": c.To.String(), "reason": c.Reason, "failures": fmt.Sprint(c.Failures)})
}

// faultEnded audits a fault that ended by itself (expired, exhausted) or was
// replaced; whoever clears one (the admin API, Shutdown) audits that.
func (s *Server) faultEnded(a fault.Active, reason string) {
	if reason == "cleared" {
		return
	}
	s.log.Info("metrics fault injection ended", "kind", a.Kind, "reason", reason)
	s.audit.Record(audit.EventFaultCleared, map[string]string{"kind": a.Kind, "reason": reason})
}

// headFileAtOpen is what the audit log found of its head file at open.
func headFileAtOpen(st audit.Status) string {
	if st.HeadFile == nil {
		return ""
	}
	return st.HeadFile.AtOpen
}

// warmUp records a first live snapshot so the gate has a fallback and is
// ready at once. Failure is not fatal: the gate serves what it can.
func (s *Server) warmUp() {
	for _, kind := range []string{snapshot.KindText, snapshot.KindOpenMetrics} {
		if _, err := s.generate(context.Background(), kind); err != nil {
			s.log.Warn("first live metrics generation failed; serving from existing snapshots if any",
				"kind", kind, "error", err)
		}
	}
}
