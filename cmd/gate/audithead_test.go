package main

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
)

// adminPost sends an admin call to the process and fails unless it is
// answered 200.
func (p *proc) adminPost(t *testing.T, path string) {
	t.Helper()
	req, _ := http.NewRequest("POST", p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}

// TestAuditVerifyFindsACutTail: the audit log's last entries are cut off
// while the gate is stopped. `gate audit verify --log FILE`, given nothing
// else, finds the cut against the head file the gate keeps beside the log,
// and says plainly when there is no head file to check against. The next
// start records the cut and carries the sequence on above every number
// used before.
func TestAuditVerifyFindsACutTail(t *testing.T) {
	p := startProcess(t)
	for range 3 {
		p.adminPost(t, "/admin/breaker/reset")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	<-p.done
	if code, out, _ := runCLI(t, "audit", "verify", "--log", p.audit); code != exitOK || !strings.Contains(out, "head file") {
		t.Fatalf("before the cut: exit %d\n%s", code, out)
	}
	data, err := os.ReadFile(p.audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	cut := bytes.Join(lines[:len(lines)-3], nil) // the stop and two resets gone
	if err := os.WriteFile(p.audit, cut, 0o640); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "audit", "verify", "--log", p.audit)
	if code != exitProblem || !strings.Contains(out, "truncated") {
		t.Fatalf("a cut tail with the head file beside it: exit %d\n%s", code, out)
	}

	head := p.audit + ".head"
	saved, _ := os.ReadFile(head)
	os.Remove(head)
	code, out, _ = runCLI(t, "audit", "verify", "--log", p.audit)
	if code != exitOK || !strings.Contains(out, "NO HEAD FILE at "+head+": a cut tail cannot be detected") {
		t.Fatalf("without a head file: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(head, saved, 0o640); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.Chown(head, nobody, nobody) // the gate trusts only a head file of its own user
		os.Chown(p.audit, nobody, nobody)
	}

	// The next start finds the cut itself.
	p2 := restartProcess(t, p)
	resp, body := p2.get(t, "/metrics/self")
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("quannex_audit_damage_found 1")) {
		t.Fatalf("after a restart over the cut log: %d\n%s", resp.StatusCode, grepLines(body, "quannex_audit"))
	}
}

// grepLines returns the lines of b that contain s.
func grepLines(b []byte, s string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
