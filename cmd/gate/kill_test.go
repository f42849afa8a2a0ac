package main

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quannex/gameday/gate/audit"
)

const (
	killAuditKey = "kill-test-audit-hmac-key-01"
	killCacheKey = "kill-test-cache-key-0000001"
)

// load drives a gate process until stop is closed: scrapers of /metrics in
// both formats (each a snapshot write) and admin calls (each an audit
// entry, answered once durable). It returns the audit entries the gate
// acknowledged, SEQ:HASH, once every goroutine has returned.
func load(p *proc, stop <-chan struct{}) (acked func() []string) {
	var (
		mu   sync.Mutex
		refs []string
		wg   sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second}
	do := func(method, path, token, accept string) *http.Response {
		req, _ := http.NewRequest(method, p.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i := range 4 {
		wg.Add(1)
		go func() { // a scraper; exits when stop is closed
			defer wg.Done()
			accept := ""
			if i%2 == 1 {
				accept = openMetrics
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				do("GET", "/metrics", testToken, accept)
			}
		}()
	}
	for i := range 3 {
		wg.Add(1)
		go func() { // an admin; exits when stop is closed
			defer wg.Done()
			path := []string{"/admin/breaker/reset", "/e2e/pass", "/admin/breaker/reset"}[i]
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				if resp := do("POST", path, adminToken, ""); resp != nil && resp.StatusCode == 200 {
					mu.Lock()
					refs = append(refs, resp.Header.Get("X-Audit-Entry"))
					mu.Unlock()
				}
			}
		}()
	}
	return func() []string {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return refs
	}
}

// segmentCount counts the rotated audit segments beside the active file.
func segmentCount(p *proc) int {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(p.audit), "audit-*.jsonl"))
	return len(m)
}

// entriesOnDisk reads every entry of every segment, SEQ:HASH.
func entriesOnDisk(t *testing.T, p *proc) map[string]bool {
	t.Helper()
	files, err := audit.Segments(p.audit)
	if err != nil {
		t.Fatal(err)
	}
	on := map[string]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if e, err := audit.ParseLine(sc.Bytes()); err == nil {
				on[audit.Head{Seq: e.Seq, Hash: e.Hash}.String()] = true
			}
		}
		fh.Close()
	}
	return on
}

// TestKillDuringRotationAndRecording: the real gate, with a small segment
// size so that the audit log rotates every few entries, is SIGKILLed three
// times under load (scrapes writing snapshot slots in place, admin calls
// making audit entries). After each kill every segment verifies (a torn
// last line allowed: it was never acknowledged), the head file is not
// ahead of the log, every admin call the gate answered is in the log, and
// the next start serves /metrics at once, live or from the snapshot
// recorded before the kill; a torn slot is refused as corrupt, never as
// unauthenticated.
func TestKillDuringRotationAndRecording(t *testing.T) {
	if testing.Short() {
		t.Skip("three rounds of load and SIGKILL")
	}
	t.Setenv("AUDIT_HMAC_KEY", killAuditKey)
	env := []string{"METRICS_TOKENS=proc:" + testToken, "GATE_ADMIN_TOKEN=" + adminToken,
		"AUDIT_HMAC_KEY=" + killAuditKey, "GATE_CACHE_KEY=" + killCacheKey}
	p := startProcessEnv(t, env, "--audit-max-bytes", "2KiB", "--enable-fault-injection")
	var acked []string
	for round := 1; round <= 3; round++ {
		stop := make(chan struct{})
		before := segmentCount(p)
		refs := load(p, stop)
		// At least a second of load and a few rotations, then a kill at a
		// moment the test does not choose: writes and renames are going on
		// all the time by then.
		start := time.Now()
		deadline := start.Add(60 * time.Second)
		for segmentCount(p) < before+4 || time.Since(start) < time.Second {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the audit log did not rotate under load (%d segments)", round, segmentCount(p))
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(200 * time.Millisecond))))
		p.cmd.Process.Kill() // SIGKILL, mid-load
		p.cmd.Wait()
		<-p.done
		close(stop)
		acked = append(acked, refs()...)

		code, out, errOut := runCLI(t, "audit", "verify", "--log", p.audit)
		if code != exitOK {
			t.Fatalf("round %d: gate audit verify after SIGKILL: exit %d\n%s%s", round, code, out, errOut)
		}
		on := entriesOnDisk(t, p)
		missing := 0
		for _, ref := range acked {
			if !on[ref] {
				missing++
			}
		}
		if missing > 0 || len(acked) == 0 {
			t.Fatalf("round %d: %d of %d acknowledged admin calls missing from the audit log", round, missing, len(acked))
		}
		if h, err := audit.ReadHeadFile(p.audit+".head", []byte(killAuditKey)); err != nil || !on[h.String()] {
			t.Fatalf("round %d: head file %v %v is not an entry of the log", round, h, err)
		}
		t.Logf("round %d: %d segments, %d acknowledged admin calls, all in the log", round, segmentCount(p), len(acked))

		p = restartProcess(t, p)
		resp, _ := p.get(t, "/metrics")
		if src := resp.Header.Get("X-Metrics-Source"); resp.StatusCode != 200 || (src != "live" && src != "snapshot") {
			t.Fatalf("round %d: /metrics after the restart: %d from %q", round, resp.StatusCode, src)
		}
		if r := adminCall(t, p, "POST", "/admin/faults/failure", `{"ttl":"2s"}`); r != 201 {
			t.Fatalf("round %d: inject: %d", round, r)
		}
		resp, _ = p.get(t, "/metrics")
		if resp.StatusCode != 200 || resp.Header.Get("X-Metrics-Source") != "snapshot" {
			t.Fatalf("round %d: with live failing, /metrics: %d from %q; want a snapshot", round, resp.StatusCode, resp.Header.Get("X-Metrics-Source"))
		}
		adminCall(t, p, "DELETE", "/admin/faults", "")
		_, self := p.get(t, "/metrics/self")
		for _, reason := range []string{"unauthenticated", "unsafe_file", "future", "other_key"} {
			if v := seriesValue(self, `quannex_snapshot_rejected_total{reason="`+reason+`"}`); v != 0 {
				t.Fatalf("round %d: after SIGKILL a slot was refused as %s (%v): a torn write must read as corrupt", round, reason, v)
			}
		}
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	if code, out, errOut := runCLI(t, "audit", "verify", "--log", p.audit); code != exitOK {
		t.Fatalf("after the last clean stop: exit %d\n%s%s", code, out, errOut)
	}
}

// adminCall sends an admin call with body and returns the status.
func adminCall(t *testing.T, p *proc, method, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, p.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// seriesValue reads one series of a text payload; -1 when absent.
func seriesValue(payload []byte, series string) float64 {
	for _, ln := range bytes.Split(payload, []byte("\n")) {
		if v, ok := bytes.CutPrefix(ln, []byte(series+" ")); ok {
			f, err := strconv.ParseFloat(string(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}
