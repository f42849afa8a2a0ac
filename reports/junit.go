package reports

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// JUnit XML, as Jenkins, GitLab and friends read it (the schema Jenkins
// validates against is in testdata/jenkins-junit.xsd): one testsuite per
// scenario run, one testcase per check. Checks are judged from the run's
// observations after the fact, so a testcase's time is 0; the suite's time
// is the run's wall time.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Error     *junitProblem `xml:"error,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes reps as one JUnit XML document: a testsuite per report
// (named for its scenario, with seed, target, verdict and score as
// properties) and a testcase per check (classname the scenario, name the
// check). A failed check is a failure whose message is what was expected
// against what was observed, with the evidence in its text; a run that
// could not complete adds an error testcase named "run".
func WriteJUnit(w io.Writer, reps []*Report) error {
	doc := junitSuites{Name: "gameday"}
	var wall float64
	for _, r := range reps {
		s := junitSuiteOf(r)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		wall += r.WallSeconds
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(wall)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// WriteJUnitFile writes reps to path (see WriteJUnit) through a temporary
// file and a rename, so a CI job never reads half a document.
func WriteJUnitFile(path string, reps []*Report) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write junit: %w", err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	err = WriteJUnit(f, reps)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write junit: %w", cerr)
	}
	if err == nil {
		if err = os.Rename(tmp, path); err != nil {
			err = fmt.Errorf("write junit: %w", err)
		}
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func junitSuiteOf(r *Report) junitSuite {
	name := r.ScenarioName()
	score, _ := r.Scored()
	s := junitSuite{Name: name, Time: seconds(r.WallSeconds)}
	if !r.StartedAt.IsZero() {
		s.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	s.Properties = []junitProperty{
		{"seed", strconv.FormatUint(r.Seed, 10)},
		{"target", r.Target.Kind},
		{"verdict", r.Verdict},
		{"score", strconv.FormatFloat(score, 'f', -1, 64)},
	}
	aborted := r.Verdict == Aborted && r.Abort != nil
	if aborted {
		s.Properties = append(s.Properties, junitProperty{"stopped_by", r.Abort.Condition})
		if b := r.Abort.BreachToRevertSeconds; b != nil {
			s.Properties = append(s.Properties, junitProperty{"breach_to_revert_seconds", strconv.FormatFloat(*b, 'f', 3, 64)})
		}
	}
	for _, c := range r.Checks {
		tc := junitCase{Name: c.Name, Classname: name, Time: "0"}
		if !c.Pass {
			p := &junitProblem{
				Message: fmt.Sprintf("expected %s, observed %s", c.Expected, c.Observed),
				Type:    c.severity(),
				Text:    fmt.Sprintf("expected: %s\nobserved: %s\nevidence: %d %s", c.Expected, c.Observed, c.Evidence, c.EvidenceOf),
			}
			if aborted { // judged on a run that was stopped: not a failure of the gate
				s.Errors++
				p.Type, p.Message = "aborted", p.Message+" (the run was aborted)"
				tc.Error = p
			} else {
				s.Failures++
				tc.Failure = p
			}
		}
		s.Cases = append(s.Cases, tc)
	}
	if aborted {
		s.Errors++
		msg := fmt.Sprintf("aborted: stop condition %s: %s", r.Abort.Condition, r.Abort.Reason)
		s.Cases = append(s.Cases, junitCase{Name: "aborted", Classname: name, Time: seconds(r.WallSeconds),
			Error: &junitProblem{Message: msg, Type: "aborted", Text: abortText(r.Abort)}})
	}
	if r.Error != "" {
		s.Errors++
		s.Cases = append(s.Cases, junitCase{Name: "run", Classname: name, Time: seconds(r.WallSeconds),
			Error: &junitProblem{Message: r.Error, Type: "run", Text: r.Error}})
	}
	s.Tests = len(s.Cases)
	return s
}

// abortText is the abort as the error's text: the breach and each revert.
func abortText(a *Abort) string {
	var b strings.Builder
	fmt.Fprintf(&b, "stop condition: %s\nreason: %s\nbreached at: %s (%s phase)\n", a.Condition, a.Reason, a.BreachedAt.Format(time.RFC3339Nano), a.Phase)
	if a.Expr != "" {
		fmt.Fprintf(&b, "expr: %s\n", a.Expr)
	}
	for _, rv := range a.Reverts {
		fmt.Fprintf(&b, "reverted %s%s at %s", rv.Fault, ifSet(" on ", rv.Instance), rv.RevertedAt.Format(time.RFC3339Nano))
		if rv.Error != "" {
			fmt.Fprintf(&b, " (%s)", rv.Error)
		}
		b.WriteString("\n")
	}
	if a.BreachToRevertSeconds != nil {
		fmt.Fprintf(&b, "breach to revert: %.3fs\n", *a.BreachToRevertSeconds)
	}
	for _, l := range a.LeftBehind {
		fmt.Fprintf(&b, "left behind: %s\n", l)
	}
	return b.String()
}

func ifSet(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

// ScenarioName is the name in the scenario spec the report recorded, or
// "unknown" when the spec has none.
func (r *Report) ScenarioName() string {
	var spec struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(r.Scenario, &spec) != nil || spec.Name == "" {
		return "unknown"
	}
	return spec.Name
}
