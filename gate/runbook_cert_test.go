package gate_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunbookCertificateRotationWorksAsWritten runs the runbook's
// certificate rotation, command by command as written, against a live gate
// serving TLS, and checks that new connections get the new certificate
// without a restart, before and after the old files are removed.
func TestRunbookCertificateRotationWorksAsWritten(t *testing.T) {
	for _, tool := range []string{"bash", "openssl", "curl", "sed", "cp", "chown", "chmod", "mv", "rm", "dirname"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the runbook's commands", tool)
		}
	}
	cmds := runbookCommands(t, "Rotate a certificate", 6)
	ca := newTestCA(t, "test CA")
	g, dir := startTLSGate(t, ca, "")
	// The test's gate names its pair server.crt and server.key.
	oldCert, err := os.ReadFile(filepath.Join(dir, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	issued := t.TempDir()
	crt, key := ca.issue(t, "gate-2", true)
	if err := os.WriteFile(filepath.Join(issued, "new.crt"), crt, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(issued, "new.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	serialOf := func(pemBytes []byte) string {
		t.Helper()
		b, _ := pem.Decode(pemBytes)
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("serial=%X", c.SerialNumber)
	}
	env := append(os.Environ(), "GATE_URL=https://"+g.Addr().String(),
		"GATE_WEB_CONFIG="+filepath.Join(dir, "web.yml"), "GATE_CA_FILE="+filepath.Join(dir, "ca.crt"),
		"NEW_CERT="+filepath.Join(issued, "new.crt"), "NEW_KEY="+filepath.Join(issued, "new.key"),
		"OLD_PAIR=server", "NEW_PAIR=gate-2")
	run := func(i int) string {
		t.Helper()
		c := exec.Command("bash", "-o", "pipefail", "-c", cmds[i])
		c.Env = env
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("step %d: %v\n%s", i+1, err, out)
		}
		return string(out)
	}
	served := func() *x509.Certificate {
		t.Helper()
		resp, _, err := tlsGet(g, &tls.Config{RootCAs: ca.pool}, "/metrics", gamedayToken)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics over TLS: %v %v", resp, err)
		}
		return resp.TLS.PeerCertificates[0]
	}

	if out := run(0); !strings.Contains(out, serialOf(oldCert)) || !strings.Contains(strings.ToLower(out), "sha256 fingerprint=") {
		t.Fatalf("step 1 does not show the served certificate's serial %s:\n%s", serialOf(oldCert), out)
	}
	if out := run(1); !strings.Contains(out, "OK") || !strings.Contains(out, "key matches") {
		t.Fatalf("step 2 output:\n%s", out)
	}
	run(2)
	if cn := served().Subject.CommonName; cn != "gate-1" {
		t.Fatalf("after step 3 (nothing switched yet) the gate serves %q, want gate-1", cn)
	}
	if st, err := os.Stat(filepath.Join(dir, "gate-2.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("new key file: %v %v, want mode 0600 like the old one", st, err)
	}
	run(3)
	if _, err := os.Stat(filepath.Join(dir, "web.yml.next")); err == nil {
		t.Error("step 4 left web.yml.next behind")
	}
	if out := run(4); !strings.Contains(out, serialOf(crt)) || !strings.Contains(out, "new certificate served") || !strings.Contains(out, "healthz 200") {
		t.Fatalf("step 5 does not show the new certificate %s:\n%s", serialOf(crt), out)
	}
	if cn := served().Subject.CommonName; cn != "gate-2" {
		t.Fatalf("after the switch a new connection got %q, want gate-2", cn)
	}
	run(5)
	for _, f := range []string{"server.crt", "server.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("step 6 left %s", f)
		}
	}
	if out := run(4); !strings.Contains(out, "new certificate served") {
		t.Fatalf("step 5 after removing the old pair:\n%s", out)
	}
	if cn := served().Subject.CommonName; cn != "gate-2" {
		t.Fatalf("after removing the old pair a new connection got %q, want gate-2", cn)
	}
}
