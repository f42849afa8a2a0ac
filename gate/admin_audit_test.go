package gate_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/audit"
)

// TestAdminCallsAuditedDurablyByName: every admin call is answered only
// once its audit entry is on disk; the answer names that entry
// (X-Audit-Entry: SEQ:HASH), and the entry names the admin token that made
// the call, by its name. Read from the file while the gate still runs.
func TestAdminCallsAuditedDurablyByName(t *testing.T) {
	g := startGate(t, nil)
	for _, c := range []struct {
		method, path, body string
		event              string
	}{
		{"POST", "/admin/breaker/reset", "", audit.EventBreakerReset},
		{"POST", "/e2e/pass", "", audit.EventE2EPass},
		{"POST", "/admin/faults/latency", `{"min":"1ms","max":"2ms","ttl":"1m"}`, audit.EventFaultInjected},
		{"DELETE", "/admin/faults/latency", "", audit.EventFaultCleared},
		{"POST", "/admin/lease", `{"holder":"gameday pid 1 on h (run latency)","ttl":"1m"}`, audit.EventLease},
		{"DELETE", "/admin/lease", `{"holder":"gameday pid 1 on h (run latency)"}`, audit.EventLease},
	} {
		r := g.do(t, c.method, c.path, adminToken, c.body)
		if r.code/100 != 2 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.code, r)
		}
		ref := r.header.Get(gate.HeaderAuditEntry)
		head, err := audit.ParseHead(ref)
		if err != nil {
			t.Fatalf("%s %s: %s %q: %v", c.method, c.path, gate.HeaderAuditEntry, ref, err)
		}
		data, err := os.ReadFile(g.audit) // the gate runs on: the entry must be there already
		if err != nil {
			t.Fatal(err)
		}
		var found *audit.Entry
		for _, ln := range bytes.Split(data, []byte("\n")) {
			if e, err := audit.ParseLine(ln); err == nil && e.Seq == head.Seq && e.Hash == head.Hash {
				found = e
			}
		}
		if found == nil || found.Event != c.event || found.Fields["token"] != "admin" || found.Fields["client_ip"] == "" {
			t.Fatalf("%s %s: entry %s on disk: %+v; want %s naming the token admin", c.method, c.path, ref, found, c.event)
		}
	}
}

// TestFaultInjectionEnabledIsAWarning: a gate started with fault injection
// says so at warning level, and its gate_start audit entry records it.
func TestFaultInjectionEnabledIsAWarning(t *testing.T) {
	g := startGate(t, nil) // defaultOptions enable it
	g.stop()
	var warned bool
	for _, ln := range strings.Split(g.logs.String(), "\n") {
		warned = warned || strings.Contains(ln, `"level":"WARN"`) && strings.Contains(ln, "fault injection enabled")
	}
	if !warned {
		t.Fatalf("no WARN line says fault injection is enabled:\n%s", g.logs)
	}
	if e := assertAuditEvent(t, g.audit, audit.EventGateStart); e.Fields["fault_injection"] != "true" {
		t.Fatalf("gate_start fields %v", e.Fields)
	}
}
