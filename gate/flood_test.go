package gate_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quannex/gameday/gate/audit"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address src (any of 127/8 on Linux): another client, as far as the gate
// can tell. It opens a fresh connection per request.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
	}}
}

// TestFailedAuthFloodIsBounded: 600 failed authentications from 200
// addresses, each within its address's failure budget, are each
// counted, but reach the log and the audit log as at most two entries per
// report interval: the first failure with its details, then one summary
// with the counts and the busiest addresses.
func TestFailedAuthFloodIsBounded(t *testing.T) {
	g := startGate(t, nil)
	const addresses, perAddress = 200, 3
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range addresses {
		wg.Add(1)
		sem <- struct{}{}
		go func() { // one address's requests; exits when they are done
			defer wg.Done()
			defer func() { <-sem }()
			c := clientFrom(fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250))
			for j := range perAddress {
				req, _ := http.NewRequest("GET", g.url+"/metrics", nil)
				if j > 0 {
					req.Header.Set("Authorization", "Bearer wrong-token-of-a-flood-0001")
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Errorf("request: %v", err)
					return
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	failures := 0.0
	for _, reason := range []string{"missing", "unknown_token"} {
		failures += g.value(t, "quannex_auth_failures_total", "reason", reason)
	}
	g.stop() // flushes the open interval's summary

	if failures != addresses*perAddress {
		t.Fatalf("quannex_auth_failures_total = %v, want every failure (%d)", failures, addresses*perAddress)
	}
	intervals := 1 + int(elapsed/time.Minute)
	var entries []*audit.Entry
	for _, ln := range strings.Split(readFile(t, g.audit), "\n") {
		if e, err := audit.ParseLine([]byte(ln)); err == nil && e.Event == audit.EventAuth {
			entries = append(entries, e)
		}
	}
	if len(entries) > 2*intervals || len(entries) < 2 {
		t.Fatalf("%d auth_event entries for %d failures over %s; want 2 per interval", len(entries), addresses*perAddress, elapsed)
	}
	logLines := strings.Count(g.logs.String(), `"msg":"metrics auth`)
	if logLines > 2*intervals {
		t.Fatalf("%d log lines for the failures, want at most %d", logLines, 2*intervals)
	}
	sum := entries[len(entries)-1]
	if sum.Fields["outcome"] != "failures_summary" || sum.Fields["addresses"] == "" || sum.Fields["top_addresses"] == "" ||
		!strings.Contains(sum.Fields["by_reason"], "unknown_token=") {
		t.Fatalf("summary entry: %v", sum.Fields)
	}
	if intervals == 1 && (sum.Fields["failures"] != fmt.Sprint(addresses*perAddress-1) || sum.Fields["addresses"] != fmt.Sprint(addresses)) {
		t.Fatalf("summary counts %s failures from %s addresses; want %d from %d", sum.Fields["failures"], sum.Fields["addresses"], addresses*perAddress-1, addresses)
	}
}

// TestHandshakeErrorsCountedAndLoggedBounded: fifty connections to a TLS
// gate that speak plain HTTP each fail their handshake. Every one is
// counted in quannex_tls_handshake_errors_total; the log gets the first
// with its error and one summary of the rest, not fifty lines.
func TestHandshakeErrorsCountedAndLoggedBounded(t *testing.T) {
	ca := newTestCA(t, "flood-ca")
	g, _ := startTLSGate(t, ca, "")
	const n = 50
	start := time.Now()
	for range n {
		c, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET /metrics HTTP/1.1\r\nHost: gate\r\n\r\n"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		c.Read(make([]byte, 512)) // the gate answers 400 in plain text, then closes
		c.Close()
	}
	waitUntil(t, "every failed handshake counted", 30*time.Second, func() bool {
		return g.value(t, "quannex_tls_handshake_errors_total") == n
	})
	elapsed := time.Since(start)
	g.stop()
	lines := strings.Count(g.logs.String(), `"msg":"TLS handshake`)
	if max := 2 * (1 + int(elapsed/time.Minute)); lines > max || lines < 2 {
		t.Fatalf("%d log lines for %d failed handshakes over %s, want 2 (one, then a summary)", lines, n, elapsed)
	}
	if !strings.Contains(g.logs.String(), `"handshakes":49`) && elapsed < time.Minute {
		t.Fatalf("the summary does not count the other 49:\n%s", g.logs)
	}
}
