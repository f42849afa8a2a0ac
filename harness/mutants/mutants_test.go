package mutants

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	root, err := harness.ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func report(verdict string, red ...string) *reports.Report {
	rep := &reports.Report{Verdict: verdict}
	for _, name := range []string{"no_5xx", "all_200", "snapshots_during_fault", "livesha_valid", "counters_agree"} {
		rep.Checks = append(rep.Checks, reports.Check{Name: name, Observed: "seen", Pass: !slices.Contains(red, name)})
	}
	return rep
}

func noEvidenceFor(rep *reports.Report, name string) *reports.Report {
	for i := range rep.Checks {
		if rep.Checks[i].Name == name {
			rep.Checks[i].Observed = "no evidence: 0 responses"
		}
	}
	return rep
}

// TestJudge: every verdict from the reports that earn it.
func TestJudge(t *testing.T) {
	mu := Mutant{Name: "m", Expect: []string{"no_5xx"}, Collateral: []string{"all_200"}}
	control := Mutant{Name: "control"}
	refused := Mutant{Name: "m", Refused: "alert X is already firing"}
	injected := func(r *reports.Report) *reports.Report {
		r.Faults = []reports.Fault{{Name: "cache-readonly"}}
		return r
	}
	for _, tc := range []struct {
		name string
		mu   Mutant
		rep  *reports.Report
		err  error
		want string
	}{
		{"caught with collateral", mu, report(reports.Fail, "no_5xx", "all_200"), nil, Caught},
		{"caught alone", mu, report(reports.Fail, "no_5xx"), nil, Caught},
		{"survived: nothing red", mu, report(reports.Pass), nil, Survived},
		{"survived: only collateral red", mu, report(reports.Fail, "all_200"), nil, WrongCheck},
		{"wrong check", mu, report(reports.Fail, "livesha_valid"), nil, WrongCheck},
		{"caught, and an unrelated check red", mu, report(reports.Fail, "no_5xx", "counters_agree"), nil, UnexpectedRed},
		{"expected check missing", Mutant{Name: "m", Expect: []string{"no_transport_errors"}}, report(reports.Fail), nil, Survived},
		{"expected check red for want of evidence", mu, noEvidenceFor(report(reports.Fail, "no_5xx"), "no_5xx"), nil, Survived},
		{"half caught", Mutant{Name: "m", Expect: []string{"no_5xx", "livesha_valid"}}, report(reports.Fail, "no_5xx"), nil, Survived},
		{"control clean", control, report(reports.Pass), nil, Clean},
		{"control red", control, report(reports.Fail, "counters_agree"), nil, UnexpectedRed},
		{"run error", mu, report(reports.Fail, "no_5xx"), os.ErrDeadlineExceeded, Errored},
		{"report error", mu, &reports.Report{Error: "target would not start"}, nil, Errored},
		{"no report", mu, nil, nil, Errored},
		{"refused by the pre-flight", refused, report(reports.Fail), errors.New("m: pre-flight: alert X is already firing: nothing injected"), Caught},
		{"not refused", refused, report(reports.Pass), nil, Survived},
		{"refused for another reason", refused, report(reports.Fail), errors.New("m: pre-flight: stop condition y already holds"), Survived},
		{"refused after injecting", refused, injected(report(reports.Fail)), errors.New("m: pre-flight: alert X is already firing"), Survived},
		{"brake control aborted", Mutant{Name: "brake-control", Aborted: true}, report(reports.Aborted), nil, Clean},
		{"brake control passed", Mutant{Name: "brake-control", Aborted: true}, report(reports.Pass), nil, UnexpectedRed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := Judge(tc.mu, tc.rep, tc.err)
			if row.Verdict != tc.want {
				t.Fatalf("verdict %q, want %q: %+v", row.Verdict, tc.want, row)
			}
			if row.OK() != (tc.want == Caught || tc.want == Clean) {
				t.Fatalf("OK %v for %q", row.OK(), row.Verdict)
			}
		})
	}
	row := Judge(mu, report(reports.Fail, "livesha_valid"), nil)
	if !slices.Equal(row.Unexpected, []string{"livesha_valid"}) || !slices.Equal(row.Survived, []string{"no_5xx"}) || row.Observed["no_5xx"] != "seen" {
		t.Fatalf("row %+v", row)
	}
}

// TestTableOKOnlyWhenEveryRowIs: one surviving mutant fails the table, and
// an empty table proves nothing.
func TestTableOKOnlyWhenEveryRowIs(t *testing.T) {
	var tab Table
	tab.Finish()
	if tab.OK {
		t.Fatal("an empty table is OK")
	}
	tab.Rows = []Row{{Mutant: "a", Verdict: Caught}, {Mutant: "control", Verdict: Clean}}
	tab.Finish()
	if !tab.OK {
		t.Fatal("not OK with every row as expected")
	}
	tab.Rows = append(tab.Rows, Row{Mutant: "b", Verdict: Survived, Survived: []string{"x"}, Observed: map[string]string{"x": "passed"}})
	tab.Finish()
	if tab.OK {
		t.Fatal("OK with a surviving mutant")
	}
	var out strings.Builder
	tab.Print(&out)
	if !strings.Contains(out.String(), "b: x: passed") || !strings.Contains(out.String(), "2 of 3 rows as expected") {
		t.Fatalf("printed:\n%s", out.String())
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := tab.Write(path); err != nil {
		t.Fatal(err)
	}
}

// TestList: the rows are runnable as written. Names are unique, scenarios
// load, every build tag has its broken file, every rules edit still
// applies to config/alerts.yml, the expected and collateral sets do not
// overlap, and GAMEDAYS.md lists every row.
func TestList(t *testing.T) {
	root := moduleRoot(t)
	prod, err := os.ReadFile(filepath.Join(root, "config", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "GAMEDAYS.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "## The mutant matrix")
	tagFile := regexp.MustCompile(`^gameday_broken_(\w+)$`)
	seen := map[string]bool{}
	for _, mu := range List() {
		if seen[mu.Name] || !regexp.MustCompile(`^[a-z0-9_-]+$`).MatchString(mu.Name) {
			t.Errorf("%s: duplicate or malformed name", mu.Name)
		}
		seen[mu.Name] = true
		if _, err := scenario.Parse(strings.NewReader(mu.Scenario), fault.Known); err != nil {
			t.Errorf("%s: %v", mu.Name, err)
		}
		for _, tag := range []struct{ tag, dir, file string }{{mu.GateTag, "cmd/gate", "mutant_%s.go"}, {mu.StressorTag, "cmd/stressor", "idle_broken.go"}} {
			if tag.tag == "" {
				continue
			}
			m := tagFile.FindStringSubmatch(tag.tag)
			if m == nil {
				t.Errorf("%s: tag %q is not gameday_broken_…", mu.Name, tag.tag)
				continue
			}
			found := false
			for _, name := range []string{strings.Replace(tag.file, "%s", m[1], 1), m[1] + "_broken.go"} {
				b, err := os.ReadFile(filepath.Join(root, tag.dir, name))
				found = found || err == nil && strings.HasPrefix(string(b), "//go:build "+tag.tag+"\n")
			}
			if !found {
				t.Errorf("%s: no file in %s/ builds only with %s", mu.Name, tag.dir, tag.tag)
			}
		}
		if mu.Rules != nil {
			edited, err := mu.Rules(string(prod))
			if err != nil || edited == string(prod) {
				t.Errorf("%s: rules edit: %v", mu.Name, err)
			}
		}
		for _, c := range mu.Expect {
			if slices.Contains(mu.Collateral, c) {
				t.Errorf("%s: %s is both expected and collateral", mu.Name, c)
			}
		}
		if !strings.Contains(section, "`"+mu.Name+"`") {
			t.Errorf("%s: not in GAMEDAYS.md's mutant matrix section", mu.Name)
		}
	}
	if l := List(); l[0].Name != "control" || len(l[0].Expect) != 0 {
		t.Error("the first row must be the control")
	}
}

// TestRevertFailsStillReverts: the wrapped cache-readonly reverts the
// directory's mode and only then reports a failure.
func TestRevertFailsStillReverts(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	f, err := revertFails("cache-readonly")["cache-readonly"](nil)
	if err != nil {
		t.Fatal(err)
	}
	revert, err := f.Inject(t.Context(), cacheOnly(dir), fault.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o555 {
		t.Fatalf("mode %v while injected", st.Mode().Perm())
	}
	if err := revert(t.Context()); err != ErrRevertReported {
		t.Fatalf("revert: %v, want %v", err, ErrRevertReported)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() == 0o555 {
		t.Fatal("the directory was left read-only")
	}
	if _, ok := f.(fault.Prober); !ok {
		t.Fatal("the wrapper lost the fault's proof")
	}
}

// cacheOnly is a fault.Host with only a cache directory; cache-readonly
// needs nothing else.
type cacheOnly string

func (c cacheOnly) CacheDir() string { return string(c) }

func (cacheOnly) BaseURL() string                  { return "" }
func (cacheOnly) AvailableCores() float64          { return 0 }
func (cacheOnly) ProbeWrite(context.Context) error { return nil }
func (cacheOnly) Burn(context.Context, int, time.Duration) (target.Burn, error) {
	return nil, errors.New("cacheOnly: no burn")
}

// TestShippedBuildsHoldNoMutant: a build without tags compiles none of the
// broken files: the gate's package holds no mutant at all, and the gate
// binary none of its mutant files.
func TestShippedBuildsHoldNoMutant(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}: {{join .GoFiles \" \"}}", "./gate", "./cmd/gate", "./cmd/stressor")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasSuffix(f, "_broken.go") || strings.HasPrefix(f, "mutant_") {
			t.Errorf("the shipped build compiles %s:\n%s", f, out)
		}
	}
}
