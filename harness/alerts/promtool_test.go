package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPromtoolChecksAndUnitTests runs the real promtool over the production
// rules: `promtool check rules` and the rule unit tests in
// config/alerts_test.yml. .ci/run installs promtool (Debian's prometheus
// package); without it the test fails under CI and skips elsewhere.
func TestPromtoolChecksAndUnitTests(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; .ci/run installs Debian's prometheus package for it")
		}
		t.Skip("promtool is not installed (apt-get install prometheus); CI runs this test")
	}
	dir := filepath.Join("..", "..", "config")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}, {"check", "rules", "gameday.yml"}, {"test", "rules", "gameday_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
