// Package gateapi is the one client that talks to a running gate for the
// harness, the smoke pack and the faults: one place for the base URL, the
// bearer tokens, timeouts, body limits and error decoding. It knows the
// gate's endpoints (payloads, self-metrics, e2e pass, admin API); the load
// generator does not use it (vegeta drives /metrics itself).
//
// Tokens live only in the Client and in the Authorization header it sets;
// no error it returns contains one.
package gateapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"

	"github.com/quannex/gameday/gate/fault"
	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/gate/lease"
	"github.com/quannex/gameday/gate/metrics"
)

// DefaultTimeout bounds every request of a Client made without its own
// http.Client.
const DefaultTimeout = 10 * time.Second

// maxBody bounds what a response may bring.
const maxBody = 32 << 20

// Credential says which token a request carries.
type Credential int

// Credentials.
const (
	NoToken    Credential = iota // /healthz, /readyz
	MetricsTok                   // /metrics, /metrics/self, /metrics/selftest
	AdminTok                     // /e2e/pass, /admin/...
)

// Client talks to one gate.
type Client struct {
	base         string
	token, admin string
	http         *http.Client
	// answers counts the /metrics payloads the gate answered this client
	// (MetricsAnswers).
	answers atomic.Int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the http.Client (TLS, timeouts, transport).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithTLS speaks TLS with cfg (the CA to trust, a client certificate):
// WithHTTPClient(HTTPClient(cfg)). nil keeps plain HTTP.
func WithTLS(cfg *tls.Config) Option { return WithHTTPClient(HTTPClient(cfg)) }

// HTTPClient is the http.Client every harness caller of a gate uses: a
// DefaultTimeout bound, and cfg's TLS when it is not nil. Each call gets
// its own transport (and a copy of cfg: a transport adds its ALPN
// protocols to the config it holds).
func HTTPClient(cfg *tls.Config) *http.Client {
	c := &http.Client{Timeout: DefaultTimeout}
	if cfg != nil {
		c.Transport = &http.Transport{TLSClientConfig: cfg.Clone()}
	}
	return c
}

// New returns a client for the gate at baseURL with a metrics token and an
// admin token (either may be empty).
func New(baseURL, token, adminToken string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), token: token, admin: adminToken}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	return c
}

// BaseURL is the gate's base URL.
func (c *Client) BaseURL() string { return c.base }

// HasAdmin reports whether the client has an admin token.
func (c *Client) HasAdmin() bool { return c.admin != "" }

// Response is one answer of the gate, body read whole.
type Response struct {
	Code   int
	Header http.Header
	Body   []byte
	Took   time.Duration // from sending the request to the end of the body
}

// StatusError is an answer with an unexpected status.
type StatusError struct {
	Method, Path string
	Code         int
	Status       string
	Detail       string // the start of the body, trimmed
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: %s", e.Method, e.Path, e.Status)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Do sends one request. path is the gate's path (never caller input in an
// error: only the path the harness chose); accept may be empty.
func (c *Client) Do(ctx context.Context, method, path string, cred Credential, accept string, body []byte) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	switch cred {
	case MetricsTok:
		req.Header.Set("Authorization", "Bearer "+c.token)
	case AdminTok:
		req.Header.Set("Authorization", "Bearer "+c.admin)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	r := &Response{Code: resp.StatusCode, Header: resp.Header, Body: b, Took: time.Since(start)}
	if err != nil {
		return r, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return r, nil
}

// Get fetches path with the metrics token.
func (c *Client) Get(ctx context.Context, path, accept string) (*Response, error) {
	return c.Do(ctx, http.MethodGet, path, MetricsTok, accept, nil)
}

// Expect returns a *StatusError when r's code is not want.
func Expect(method, path string, r *Response, want int) error {
	if r.Code == want {
		return nil
	}
	detail := strings.TrimSpace(string(r.Body))
	if len(detail) > 200 {
		detail = detail[:200]
	}
	return &StatusError{Method: method, Path: path, Code: r.Code, Status: fmt.Sprintf("%d %s", r.Code, http.StatusText(r.Code)), Detail: detail}
}

// Payload fetches path with the metrics token and requires a 200; it
// returns the body and its content type.
func (c *Client) Payload(ctx context.Context, path string) ([]byte, string, error) {
	r, err := c.Get(ctx, path, "")
	if err != nil {
		return nil, "", err
	}
	if path == "/metrics" {
		c.answers.Add(1) // whatever the status: the gate answered, so it counted it
	}
	if err := Expect(http.MethodGet, path, r, http.StatusOK); err != nil {
		return nil, "", err
	}
	return r.Body, r.Header.Get("Content-Type"), nil
}

// MetricsAnswers is how many /metrics payloads the gate has answered this
// client's Payload so far: the gate counts each in
// quannex_metrics_requests_total, so a caller comparing that counter with
// its own load takes them out (RequestsTotal).
func (c *Client) MetricsAnswers() int64 { return c.answers.Load() }

// RequestsTotal is sum(quannex_metrics_requests_total) in /metrics/self
// less this client's MetricsAnswers: the share of every other caller (a
// GameDay's load) of the requests the gate counted.
func (c *Client) RequestsTotal(ctx context.Context) (float64, error) {
	v, err := c.Sum(ctx, metrics.Requests)
	return v - float64(c.answers.Load()), err
}

// Self fetches the gate's own health metrics (/metrics/self) as samples.
func (c *Client) Self(ctx context.Context) (model.Vector, error) {
	body, ctype, err := c.Payload(ctx, "/metrics/self")
	if err != nil {
		return nil, err
	}
	return integrity.Samples(body, ctype)
}

// Sum is the sum of every series of metric name in /metrics/self.
func (c *Client) Sum(ctx context.Context, name string) (float64, error) {
	vec, err := c.Self(ctx)
	if err != nil {
		return 0, err
	}
	return integrity.Sum(vec, name), nil
}

// ErrNoBuildInfo is returned when the gate exposes no quannex_build_info.
var ErrNoBuildInfo = errors.New("no quannex_build_info")

// BuildInfo returns the labels of quannex_build_info.
func (c *Client) BuildInfo(ctx context.Context) (map[string]string, error) {
	vec, err := c.Self(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range vec {
		if string(s.Metric["__name__"]) == "quannex_build_info" {
			out := map[string]string{}
			for k, v := range s.Metric {
				if k != "__name__" {
					out[string(k)] = string(v)
				}
			}
			return out, nil
		}
	}
	return nil, ErrNoBuildInfo
}

// E2EPass records an end-to-end pass (admin token).
func (c *Client) E2EPass(ctx context.Context) error {
	return c.Admin(ctx, http.MethodPost, "/e2e/pass", nil, http.StatusOK)
}

// Admin calls the admin API and requires the status want.
func (c *Client) Admin(ctx context.Context, method, path string, body []byte, want int) error {
	r, err := c.Do(ctx, method, path, AdminTok, "", body)
	if err != nil {
		return err
	}
	return Expect(method, path, r, want)
}

// ActiveFaults lists the faults active in the gate's fault API (GET
// /admin/faults, admin token), as "latency until 15:04:05Z". A gate
// started without fault injection has no fault API: none. Without an
// admin token it is an error, as the list cannot be read.
func (c *Client) ActiveFaults(ctx context.Context) ([]string, error) {
	if !c.HasAdmin() {
		return nil, errors.New("GET /admin/faults: no admin token")
	}
	r, err := c.Do(ctx, http.MethodGet, "/admin/faults", AdminTok, "", nil)
	if err != nil {
		return nil, err
	}
	if r.Code == http.StatusNotFound {
		return nil, nil
	}
	if err := Expect(http.MethodGet, "/admin/faults", r, http.StatusOK); err != nil {
		return nil, err
	}
	var list struct {
		Faults []fault.Active `json:"faults"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		return nil, fmt.Errorf("GET /admin/faults: %w", err)
	}
	out := make([]string, 0, len(list.Faults))
	for _, f := range list.Faults {
		out = append(out, fmt.Sprintf("%s until %s", f.Kind, f.ExpiresAt.UTC().Format("15:04:05Z")))
	}
	return out, nil
}

// ErrNoLease: the gate offers no GameDay lease (a gate from before it).
var ErrNoLease = errors.New("the gate offers no GameDay lease (/admin/lease)")

// LeaseHeldError is a GameDay lease another run holds.
type LeaseHeldError struct {
	Holder    string
	ExpiresAt time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("held by another GameDay: %s, until %s", e.Holder, e.ExpiresAt.UTC().Format(time.RFC3339))
}

// TakeLease takes (or, as its holder, renews) the gate's GameDay lease for
// ttl (admin token): a *LeaseHeldError when another run holds it,
// ErrNoLease when the gate has none.
func (c *Client) TakeLease(ctx context.Context, holder string, ttl time.Duration) error {
	body, _ := json.Marshal(lease.Request{Holder: holder, TTL: ttl.String()})
	return c.lease(ctx, http.MethodPost, body)
}

// ReleaseLease gives the lease back (nothing when it is not held).
func (c *Client) ReleaseLease(ctx context.Context, holder string) error {
	body, _ := json.Marshal(lease.Request{Holder: holder})
	return c.lease(ctx, http.MethodDelete, body)
}

// Lease reads who holds the lease: a *LeaseHeldError when someone does.
func (c *Client) Lease(ctx context.Context) error { return c.lease(ctx, http.MethodGet, nil) }

func (c *Client) lease(ctx context.Context, method string, body []byte) error {
	r, err := c.Do(ctx, method, "/admin/lease", AdminTok, "", body)
	if err != nil {
		return err
	}
	var st lease.State
	switch r.Code {
	case http.StatusNotFound:
		return ErrNoLease
	case http.StatusConflict:
		if err := json.Unmarshal(r.Body, &st); err != nil {
			return Expect(method, "/admin/lease", r, http.StatusOK)
		}
		return &LeaseHeldError{Holder: st.Holder, ExpiresAt: st.ExpiresAt}
	}
	if err := Expect(method, "/admin/lease", r, http.StatusOK); err != nil {
		return err
	}
	if method == http.MethodGet && json.Unmarshal(r.Body, &st) == nil && st.Held {
		return &LeaseHeldError{Holder: st.Holder, ExpiresAt: st.ExpiresAt}
	}
	return nil
}
