package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/connlimit"
	"github.com/quannex/gameday/gate/metrics"
)

// Query keys that carry credentials in other systems. The gate never
// accepts a token in a URL (it would end up in proxy logs and browser
// history) and refuses such requests outright.
var credentialQueryKeys = map[string]bool{
	"token": true, "access_token": true, "bearer": true, "auth": true,
	"authorization": true, "api_key": true, "apikey": true, "key": true,
}

// route is one endpoint: method, path pattern and handler.
type route struct {
	method, path string
	h            http.Handler
}

func (s *Server) routes() http.Handler {
	rs := []route{
		{"GET", "/metrics", s.authenticated(s.tokens, http.HandlerFunc(s.serveMetrics))},
		{"GET", "/metrics/selftest", s.selftestHandler()},
		{"GET", "/metrics/self", s.authenticated(s.tokens, http.HandlerFunc(s.serveSelf))},
		{"GET", "/healthz", http.HandlerFunc(s.serveHealthz)},
		{"GET", "/readyz", http.HandlerFunc(s.serveReadyz)},
	}
	if s.admin != nil {
		admin := func(f http.HandlerFunc) http.Handler { return s.authenticated(s.admin, f) }
		rs = append(rs,
			route{"POST", "/e2e/pass", admin(s.serveE2EPass)},
			route{"POST", "/admin/breaker/reset", admin(s.serveBreakerReset)},
			route{"GET", "/admin/lease", admin(s.serveLease)},
			route{"POST", "/admin/lease", admin(s.serveLeaseTake)},
			route{"DELETE", "/admin/lease", admin(s.serveLeaseRelease)})
		if s.opts.FaultInjection {
			rs = append(rs,
				route{"GET", "/admin/faults", admin(s.serveFaultList)},
				route{"DELETE", "/admin/faults", admin(s.serveFaultClear)},
				route{"POST", "/admin/faults/{kind}", admin(s.serveFaultSet)},
				route{"DELETE", "/admin/faults/{kind}", admin(s.serveFaultClear)})
		}
	}
	mux := http.NewServeMux()
	allowed := map[string][]string{} // path pattern -> methods
	for _, r := range rs {
		mux.Handle(r.method+" "+r.path, r.h)
		allowed[r.path] = append(allowed[r.path], r.method)
	}
	// Everything else: 405 with Allow for a known path, 404 otherwise,
	// both as JSON like every other error.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		for pattern, methods := range allowed {
			if pathMatches(pattern, r.URL.Path) {
				w.Header().Set("Allow", strings.Join(methods, ", "))
				writeError(w, http.StatusMethodNotAllowed, "method not allowed on "+pattern+"; allowed: "+strings.Join(methods, ", "))
				return
			}
		}
		writeError(w, http.StatusNotFound, "not found; endpoints: /metrics, /metrics/selftest, /healthz, /readyz")
	})
	return s.recoverer(s.accessLog(mux))
}

// pathMatches matches a path against a pattern whose last segment may be a
// {wildcard}.
func pathMatches(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "{kind}"); ok {
		rest, found := strings.CutPrefix(path, prefix)
		return found && rest != "" && !strings.Contains(rest, "/")
	}
	return pattern == path
}

type ctxKey struct{}

// callerInfo is filled in by authenticated for the access log and for
// handlers that name their caller (admin audit entries).
type callerInfo struct{ name string }

// callerName is the name of the token that authenticated r, "" if none.
func callerName(r *http.Request) string {
	if ci, _ := r.Context().Value(ctxKey{}).(*callerInfo); ci != nil {
		return ci.name
	}
	return ""
}

// authenticated wraps next with bearer authentication against set, the
// per-IP limit on failures, the per-caller rate limit and its headers.
func (s *Server) authenticated(set *auth.Keyring, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ci, _ := r.Context().Value(ctxKey{}).(*callerInfo)
		if ci == nil {
			ci = &callerInfo{}
		}
		if s.opts.InsecureNoAuth && set == s.tokens {
			ci.name = "anonymous"
			next.ServeHTTP(w, r)
			return
		}
		if s.credentialsInQuery(r, set) {
			s.authFailed(w, r, "token_in_query", http.StatusBadRequest,
				"credentials are not accepted in the query string; send them in the Authorization header")
			return
		}
		name, err := set.Authenticate(r.Header.Get("Authorization"))
		if err != nil {
			msg := "authentication required: send Authorization: Bearer <token>"
			switch {
			case errors.Is(err, auth.ErrUnknown):
				msg = "invalid token"
			case errors.Is(err, auth.ErrScheme):
				msg = "unsupported Authorization scheme: use Bearer"
			case errors.Is(err, auth.ErrMalformed):
				msg = "malformed Authorization header"
			}
			s.authFailed(w, r, auth.Reason(err), http.StatusUnauthorized, msg)
			return
		}
		ci.name = name
		d, err := s.limiter.Allow(name)
		if err != nil { // only for an unbounded number of names, which tokens are not
			writeError(w, http.StatusServiceUnavailable, "rate limiter unavailable")
			return
		}
		d.SetHeaders(w.Header())
		if !d.Allowed {
			s.m.RateLimited.WithLabelValues(name).Inc()
			if r.URL.Path == "/metrics" {
				s.m.Requests.WithLabelValues(metrics.SourceNone, "429").Inc()
			}
			if d.FirstDenial {
				s.log.Warn("metrics rate limit reached", "token", name, "policy", d.Policy.String())
				s.audit.Record(audit.EventRateLimit, map[string]string{"token": name, "policy": d.Policy.String(), "path": routeOf(r)})
			}
			writeError(w, http.StatusTooManyRequests, fmt.Sprintf("rate limit %s exceeded for %s", d.Policy, name))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// credentialsInQuery reports whether the query string carries something
// that looks like, or is, a credential.
func (s *Server) credentialsInQuery(r *http.Request, set *auth.Keyring) bool {
	if r.URL.RawQuery == "" {
		return false
	}
	for k, vs := range r.URL.Query() {
		if credentialQueryKeys[strings.ToLower(k)] {
			return true
		}
		for _, v := range vs {
			if len(v) >= auth.MinTokenLen && (set.Contains(v) || set != s.tokens && s.tokens.Contains(v)) {
				return true
			}
		}
	}
	return false
}

// authFailed answers a failed authentication: 401 (or 400) normally, 429
// once the client IP (an IPv6 /64) has used up its failure budget. Every
// failure is counted; the log and the audit log get them in bounded form
// (floods.go).
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, reason string, status int, msg string) {
	s.m.AuthFailures.WithLabelValues(reason).Inc()
	ip := clientIP(r)
	d, err := s.ipLimit.Allow(connlimit.Key(ip)) // an IPv6 client by its /64
	limited := err != nil || !d.Allowed
	s.authFailureReported(ip, reason, routeOf(r), limited)
	if limited {
		if r.URL.Path == "/metrics" {
			s.m.Requests.WithLabelValues(metrics.SourceNone, "429").Inc()
		}
		d.SetHeaders(w.Header())
		writeError(w, http.StatusTooManyRequests, "too many failed authentication attempts from this address")
		return
	}
	if r.URL.Path == "/metrics" {
		s.m.Requests.WithLabelValues(metrics.SourceNone, strconv.Itoa(status)).Inc()
	}
	if status == http.StatusUnauthorized {
		v := `Bearer realm="quannex-gate"`
		if reason != "missing" {
			v += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", v)
	}
	writeError(w, status, msg)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// routeOf names the endpoint a request matched ("/admin/faults/{kind}"), or
// "unmatched". Logs, audit entries and error bodies use it instead of the
// raw path: a path is caller input and may carry anything, a token
// included, and nothing the caller sent is echoed back or written down.
func routeOf(r *http.Request) string {
	_, p, _ := strings.Cut(r.Pattern, " ")
	if p == "" || p == "/" {
		return "unmatched"
	}
	return p
}

// statusWriter records the status code for the access log.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// accessLog logs every request at debug level (warnings for 5xx): method,
// matched route, status, duration, caller name and client IP. Never a
// header value, the raw path or a query string.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ci := &callerInfo{}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ci))
		next.ServeHTTP(sw, r) // the mux sets r.Pattern
		level := slog.LevelDebug
		if sw.code >= 500 {
			level = slog.LevelWarn
		}
		if !s.log.Enabled(r.Context(), level) {
			return
		}
		s.log.LogAttrs(r.Context(), level, "http request",
			slog.String("method", r.Method), slog.String("route", routeOf(r)),
			slog.Int("status", sw.code), slog.Duration("duration", time.Since(start)),
			slog.String("token", ci.name), slog.String("client_ip", clientIP(r)),
			slog.String("source", w.Header().Get(HeaderSource)))
	})
}

// recoverer turns a panic in a handler into a 500 for everything but
// /metrics, which has its own recovery in generation and never gets here.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "path", routeOf(r), "panic", fmt.Sprint(v))
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// errorBody is the JSON shape of every error the gate returns.
type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"encoding response failed"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
