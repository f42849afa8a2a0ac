package reports

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// realRuns are reports of real runs (latency failed its fault proof; the
// other two passed), one that could not complete and one a stop condition
// aborted.
func realRuns(t *testing.T) []*Report {
	t.Helper()
	var reps []*Report
	for _, n := range []string{"latency", "cpu-spike-short", "io-glitch-short"} {
		r, err := Read(filepath.Join("testdata", "runs", n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, r)
	}
	broken := *reps[2]
	broken.Checks = broken.Checks[:2]
	broken.Error = `start target: gate did not answer /readyz within 30s ("<&>" quoted)`
	broken.Verdict = Fail
	broken.ScoreBreakdown = nil
	aborted := *reps[2]
	aborted.Checks = append([]Check(nil), aborted.Checks...)
	aborted.Checks[1].Pass, aborted.Checks[1].Observed = false, "5 of 600 (codes 200:595 500:5)"
	aborted.Verdict = Aborted
	breach := aborted.StartedAt.Add(30 * time.Second)
	rev, secs := breach.Add(1200*time.Millisecond), 1.2
	aborted.Abort = &Abort{Condition: "5xx-burst", Reason: "5 responses >= 500 within 10s", Value: 5, BreachedAt: breach, Phase: "fault",
		Reverts: []Revert{{Fault: "cache-readonly", RevertedAt: rev}}, RevertedAt: &rev, BreachToRevertSeconds: &secs, SweptAt: &rev}
	return append(reps, &broken, &aborted)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run with -update after checking it):\n%s", path, got)
	}
}

func TestJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, realRuns(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden.xml", b.Bytes())

	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// The aborted run's failed check is an error, as the run is: not a
	// failure of the gate.
	if len(doc.Suites) != 5 || doc.Failures != 1 || doc.Errors != 3 {
		t.Fatalf("suites %d failures %d errors %d", len(doc.Suites), doc.Failures, doc.Errors)
	}
	lat := doc.Suites[0]
	var failed *junitCase
	for i, c := range lat.Cases {
		if c.Classname != "latency" {
			t.Errorf("classname %q", c.Classname)
		}
		if c.Failure != nil {
			failed = &lat.Cases[i]
		}
	}
	if failed == nil || failed.Name != "fault_achieved:generator-latency" ||
		!strings.HasPrefix(failed.Failure.Message, "expected ") || !strings.Contains(failed.Failure.Text, "evidence: 3600 samples") {
		t.Fatalf("failed check %+v", failed)
	}
	props := map[string]string{}
	for _, p := range lat.Properties {
		props[p.Name] = p.Value
	}
	if props["seed"] != "3" || props["target"] != "process" || props["verdict"] != "fail" || props["score"] == "" {
		t.Errorf("properties %v", props)
	}
	last := doc.Suites[3].Cases
	if e := last[len(last)-1]; e.Name != "run" || e.Error == nil || !strings.Contains(e.Error.Message, `"<&>"`) {
		t.Errorf("run error testcase %+v", e)
	}
	ab := doc.Suites[4]
	if ab.Failures != 0 || ab.Errors != 2 {
		t.Errorf("aborted run: %d failures, %d errors; want none and 2", ab.Failures, ab.Errors)
	}
	if e := ab.Cases[len(ab.Cases)-1]; e.Name != "aborted" || e.Error == nil || e.Error.Type != "aborted" ||
		!strings.Contains(e.Error.Message, "5xx-burst") || !strings.Contains(e.Error.Text, "breach to revert: 1.200s") {
		t.Errorf("aborted testcase %+v", e)
	}
}

// TestJUnitValidatesAgainstJenkinsSchema checks the output against the
// schema Jenkins reads, with xmllint (Debian: libxml2-utils). It skips
// only when xmllint is absent outside CI.
func TestJUnitValidatesAgainstJenkinsSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("xmllint not installed (apt-get install libxml2-utils)")
		}
		t.Fatal("CI is set and xmllint is missing: .ci/run installs libxml2-utils")
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := WriteJUnitFile(path, realRuns(t)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "jenkins-junit.xsd"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	// An empty run list is a valid document too.
	if err := WriteJUnitFile(path, nil); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "jenkins-junit.xsd"), path).CombinedOutput(); err != nil {
		t.Fatalf("xmllint, no runs: %v\n%s", err, out)
	}
}

func TestWriteJUnitFileNamesTheProblem(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	err := WriteJUnitFile(filepath.Join(blocker, "junit.xml"), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "write junit:") {
		t.Fatalf("err %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
}
