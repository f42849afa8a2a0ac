package gateapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/gatetest"
	"github.com/quannex/gameday/gate/ratelimit"
	"github.com/quannex/gameday/harness/gateapi"
)

const (
	metricsToken = "gateapi-unit-token-00001"
	adminToken   = "gateapi-unit-admin-token-2"
)

// startGate runs a real gate in-process on a loopback :0 listener.
func startGate(t *testing.T) string {
	t.Helper()
	toks, err := auth.ParseList("unit:" + metricsToken)
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.NewToken("admin", adminToken)
	return gatetest.Start(t, gate.Options{Tokens: toks, AdminToken: &admin, FaultInjection: true,
		RateLimits: map[string]ratelimit.Policy{"unit": {Limit: 1000, Window: time.Second}, "admin": {Limit: 1000, Window: time.Second}},
	}).URL
}

func TestClientAgainstARealGate(t *testing.T) {
	base := startGate(t)
	ctx := t.Context()
	c := gateapi.New(base, metricsToken, adminToken)

	body, ctype, err := c.Payload(ctx, "/metrics")
	if err != nil || !strings.Contains(string(body), "# LIVESHA:") || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("payload: %v %q", err, ctype)
	}
	before, err := c.Sum(ctx, "quannex_metrics_requests_total")
	if err != nil || before < 1 {
		t.Fatalf("sum: %v %v", before, err)
	}
	if b, err := c.BuildInfo(ctx); err != nil || b["goversion"] == "" {
		t.Fatalf("build info: %v %v", b, err)
	}
	if err := c.E2EPass(ctx); err != nil {
		t.Fatalf("e2e pass: %v", err)
	}
	if err := c.Admin(ctx, http.MethodPost, "/admin/breaker/reset", nil, http.StatusOK); err != nil {
		t.Fatalf("breaker reset: %v", err)
	}

	// A wrong status is a *StatusError naming method, path and status,
	// never a token.
	bad := gateapi.New(base, "not-a-valid-token-at-all", "not-the-admin-token-either")
	_, _, err = bad.Payload(ctx, "/metrics")
	var se *gateapi.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnauthorized || !strings.Contains(err.Error(), "GET /metrics") {
		t.Fatalf("bad token: %v", err)
	}
	if err := bad.E2EPass(ctx); !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
		t.Fatalf("bad admin token: %v", err)
	}
	for _, s := range []string{metricsToken, adminToken, "not-a-valid-token-at-all", "not-the-admin-token-either"} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error carries a token: %v", err)
		}
	}
}

func TestClientUnreachable(t *testing.T) {
	c := gateapi.New("http://127.0.0.1:1", metricsToken, "")
	if _, err := c.Get(t.Context(), "/healthz", ""); err == nil || !strings.Contains(err.Error(), "GET /healthz") {
		t.Fatalf("unreachable: %v", err)
	}
}
