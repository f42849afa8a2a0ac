package gate

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/auth"
)

// Token rotation without a restart. Tokens come either from Options.Tokens
// and AdminToken (fixed for the life of the process) or from token files,
// which are re-read when their content changes and on ReloadTokens. A
// re-read file is validated whole and put in force with one atomic swap of
// its Keyring; a bad one leaves the tokens in force alone and says why in
// the log, the audit log, selftest (check auth_reload),
// quannex_auth_reload_failures_total and quannex_auth_last_reload_successful
// (0 until every file's last re-read is in force again; the
// GateConfigReloadFailing alert reads it). Rate-limit buckets are keyed by
// caller name, so names that stay keep their state across a swap.

// Which keyring a token file feeds, as named in logs, audit entries and
// selftest.
const (
	setMetrics = "metrics"
	setAdmin   = "admin"
)

// Triggers of a re-read, as logged and audited.
const (
	triggerChanged   = "file_changed"
	triggerRequested = "reload_requested"
)

// ErrShutDown is returned by ReloadTokens once Shutdown has begun.
var ErrShutDown = errors.New("gate is shutting down")

// tokenFile is one token file the gate re-reads. Its fields other than the
// first four are guarded by Server.reloadMu.
type tokenFile struct {
	set         string // setMetrics or setAdmin
	path        string
	defaultName string // name of a bare token
	ring        *auth.Keyring

	seen     [sha256.Size]byte // content last put in force or last reported as rejected
	suspect  [sha256.Size]byte // bad content the poller saw once (see reloadFile)
	failure  string            // why the last re-read was rejected; "" since a success
	failedAt time.Time
	loadedAt time.Time
}

// initTokens builds the keyrings from Options, reading the token files.
func (s *Server) initTokens() error {
	o := s.opts
	metricsToks := o.Tokens
	var adminToks []auth.Token
	if o.AdminToken != nil {
		adminToks = []auth.Token{*o.AdminToken}
	}
	var files []*tokenFile
	for _, f := range []struct {
		set, path, field, defaultName string
		dst                           *[]auth.Token
	}{
		{setMetrics, o.TokensFile, "TokensFile", "", &metricsToks},
		{setAdmin, o.AdminTokenFile, "AdminTokenFile", "admin", &adminToks},
	} {
		if f.path == "" {
			continue
		}
		toks, sum, err := auth.ReadFile(f.path, f.defaultName)
		if err != nil {
			return fmt.Errorf("%s: %w", f.field, err)
		}
		*f.dst = toks
		files = append(files, &tokenFile{set: f.set, path: f.path, defaultName: f.defaultName,
			seen: sum, loadedAt: time.Now().UTC()})
	}
	s.tokens = auth.NewKeyring(auth.NewSet(metricsToks))
	var adminSet *auth.Set
	if adminToks != nil {
		s.admin = auth.NewKeyring(auth.NewSet(adminToks))
		adminSet = s.admin.Set()
	}
	if err := disjoint(s.tokens.Set(), adminSet, o.keys()); err != nil {
		switch { // blame a file when there is one: cmd/gate names its variable
		case o.TokensFile != "":
			return fmt.Errorf("TokensFile: %w", &auth.FileError{Path: o.TokensFile, Problem: err.Error()})
		case o.AdminTokenFile != "":
			return fmt.Errorf("AdminTokenFile: %w", &auth.FileError{Path: o.AdminTokenFile, Problem: err.Error()})
		}
		return fmt.Errorf("Tokens: %w", err)
	}
	for _, f := range files {
		f.ring = s.tokens
		if f.set == setAdmin {
			f.ring = s.admin
		}
	}
	s.tokenFiles = files
	return nil
}

// disjoint rejects what would make two credentials one: a caller name used
// by both a metrics and an admin token (they would share a rate-limit
// bucket and be told apart nowhere), and one secret in two roles — a
// metrics token that is also an admin token, or a token that is also a
// key in keys (role -> key). Whoever holds a secret for one role would hold
// the other. The error names the roles and the token names, never a
// secret. admin may be nil.
func disjoint(metrics, admin *auth.Set, keys map[string][]byte) error {
	if admin != nil {
		names := map[string]bool{}
		for _, n := range admin.Names() {
			names[n] = true
		}
		for _, n := range metrics.Names() {
			if names[n] {
				return fmt.Errorf("the name %q is used by a metrics token and an admin token", n)
			}
		}
		if m, a, shared := auth.SharedSecret(metrics, admin); shared {
			return fmt.Errorf("one secret in two roles: the metrics token %q is also the admin token %q; give each role its own", m, a)
		}
	}
	for _, role := range slices.Sorted(maps.Keys(keys)) {
		key := string(keys[role])
		if key == "" {
			continue
		}
		if n, err := metrics.Match(key); err == nil {
			return fmt.Errorf("one secret in two roles: the metrics token %q is also %s; give each role its own", n, role)
		}
		if admin != nil {
			if n, err := admin.Match(key); err == nil {
				return fmt.Errorf("one secret in two roles: the admin token %q is also %s; give each role its own", n, role)
			}
		}
	}
	return nil
}

// keys are the keys configured besides the tokens, by role, for disjoint.
func (o *Options) keys() map[string][]byte {
	return map[string][]byte{"the audit key (AUDIT_HMAC_KEY)": o.AuditKey, "the cache key (GATE_CACHE_KEY)": o.CacheKey}
}

// ReloadTokens re-reads every token file now, changed or not (cmd/gate
// calls it on SIGHUP). The outcome is logged, audited and shown in
// selftest; the error, if any, says which file was rejected and why, and
// never holds a token.
func (s *Server) ReloadTokens() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.watchCtx.Err() != nil {
		return ErrShutDown
	}
	if len(s.tokenFiles) == 0 {
		s.log.Info("metrics auth: reload requested, but no token file is configured (METRICS_TOKENS and GATE_ADMIN_TOKEN are read at start only)")
		return nil
	}
	var errs []error
	for _, f := range s.tokenFiles {
		errs = append(errs, s.reloadFile(f, triggerRequested, true))
	}
	return errors.Join(errs...)
}

// watchTokenFiles polls the token files every TokenFilePoll until Shutdown
// begins. A content hash decides whether a file changed: mtime and size
// alone miss a same-size rewrite within the file system's timestamp
// granularity, and a token file is small enough to read twice a second.
func (s *Server) watchTokenFiles() {
	if len(s.tokenFiles) == 0 || s.opts.TokenFilePoll < 0 {
		return
	}
	t := time.NewTicker(s.opts.TokenFilePoll)
	defer t.Stop()
	for {
		select {
		case <-s.watchCtx.Done():
			return
		case <-t.C:
		}
		s.reloadMu.Lock()
		if s.watchCtx.Err() == nil {
			for _, f := range s.tokenFiles {
				s.reloadFile(f, triggerChanged, false)
			}
		}
		s.reloadMu.Unlock()
	}
}

// stopTokenReloads ends the poller and waits for a re-read in progress, so
// nothing is audited after the audit log closes.
func (s *Server) stopTokenReloads() {
	if s.watchCancel == nil {
		return
	}
	s.watchCancel()
	s.watchDone.Wait()
	// Wait for a ReloadTokens in progress; later calls see watchCtx done.
	s.reloadMu.Lock()
	s.reloadMu.Unlock()
}

// reloadFile re-reads f and puts it in force if it is valid. Called with
// reloadMu held. Unless forced, unchanged content is skipped, and bad
// content is reported only when the next poll finds it unchanged: a writer
// that truncates and then writes (shell '>') can be caught in between, and
// that half-written file is not worth an alarm.
func (s *Server) reloadFile(f *tokenFile, trigger string, forced bool) error {
	toks, sum, err := auth.ReadFile(f.path, f.defaultName)
	if err != nil && sum == ([sha256.Size]byte{}) {
		sum = sha256.Sum256([]byte(err.Error())) // a missing file stays "unchanged" while it stays missing
	}
	if !forced && sum == f.seen {
		f.suspect = [sha256.Size]byte{}
		return nil
	}
	var next *auth.Set
	if err == nil {
		next = auth.NewSet(toks)
		if f.set == setMetrics {
			var admin *auth.Set
			if s.admin != nil {
				admin = s.admin.Set()
			}
			err = disjoint(next, admin, s.opts.keys())
		} else {
			err = disjoint(s.tokens.Set(), next, s.opts.keys())
		}
		if err != nil {
			err = &auth.FileError{Path: f.path, Problem: err.Error()}
		}
	}
	if err != nil {
		if !forced && sum != f.suspect {
			f.suspect = sum
			return nil
		}
		f.seen, f.suspect = sum, [sha256.Size]byte{}
		s.tokenFileRejected(f, trigger, err)
		return err
	}
	f.seen, f.suspect = sum, [sha256.Size]byte{}
	old := f.ring.Swap(next)
	s.tokenFileLoaded(f, trigger, old, next)
	return nil
}

func (s *Server) tokenFileLoaded(f *tokenFile, trigger string, old, next *auth.Set) {
	added, removed, replaced := auth.Changes(old, next)
	f.failure, f.loadedAt = "", time.Now().UTC()
	s.setAuthReloadOK()
	s.m.AuthReloads.Inc()
	if f.set == setMetrics {
		for _, n := range added {
			s.m.RateLimited.WithLabelValues(n)
		}
	}
	attrs := []any{"set", f.set, "file", f.path, "trigger", trigger, "tokens", next.Len()}
	if len(added)+len(removed)+len(replaced) == 0 {
		s.log.Info("metrics auth: token file re-read, no change", attrs...)
		return
	}
	s.log.Warn("metrics auth: tokens reloaded", append(attrs,
		"added", added, "removed", removed, "replaced", replaced)...)
	s.audit.Record(audit.EventAuth, map[string]string{
		"outcome": "tokens_reloaded", "set": f.set, "file": f.path, "trigger": trigger,
		"added": strings.Join(added, ","), "removed": strings.Join(removed, ","),
		"replaced": strings.Join(replaced, ","), "tokens": fmt.Sprint(next.Len()),
	})
}

func (s *Server) tokenFileRejected(f *tokenFile, trigger string, err error) {
	f.failure, f.failedAt = err.Error(), time.Now().UTC()
	s.setAuthReloadOK() // first: whoever sees the failure counted sees the gauge at 0
	s.m.AuthReloadFailures.Inc()
	fe := &auth.FileError{Path: f.path, Problem: err.Error()}
	errors.As(err, &fe)
	kept := f.ring.Set().Len()
	s.log.Warn("metrics auth: token file rejected, the previous tokens stay in force",
		"set", f.set, "file", fe.Path, "line", fe.Line, "problem", fe.Problem, "trigger", trigger, "tokens_kept", kept)
	s.audit.Record(audit.EventAuth, map[string]string{
		"outcome": "reload_failed", "set": f.set, "file": fe.Path, "line": fmt.Sprint(fe.Line),
		"problem": fe.Problem, "trigger": trigger, "tokens_kept": fmt.Sprint(kept),
	})
}

// setAuthReloadOK sets quannex_auth_last_reload_successful from the files'
// last outcomes: one gauge for both files, as selftest has one auth_reload
// check, so a good metrics file does not hide a rejected admin file. Called
// with reloadMu held.
func (s *Server) setAuthReloadOK() {
	ok := 1.0
	for _, f := range s.tokenFiles {
		if f.failure != "" {
			ok = 0
		}
	}
	s.m.AuthReloadOK.Set(ok)
}

// tokenReloadCheck is selftest's auth_reload check; ok is false when no
// token file is configured.
func (s *Server) tokenReloadCheck() (c Check, ok bool) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if len(s.tokenFiles) == 0 {
		return Check{}, false
	}
	c = Check{Name: "auth_reload", Status: StatusOK}
	var good, bad []string
	for _, f := range s.tokenFiles {
		n := f.ring.Set().Len()
		if f.failure != "" {
			c.Status = checkWarn
			bad = append(bad, fmt.Sprintf("%s token file rejected at %s, the previous %d token(s) stay in force: %s",
				f.set, f.failedAt.Format(time.RFC3339), n, f.failure))
			continue
		}
		good = append(good, fmt.Sprintf("%s tokens from %s (%d, loaded %s)", f.set, f.path, n, f.loadedAt.Format(time.RFC3339)))
	}
	c.Detail = strings.Join(append(bad, good...), "; ")
	return c, true
}
