//go:build mutants

package mutants_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/mutants"
)

// TestMatrix runs every mutant (make mutants), serially, one subtest each,
// then prints the table and writes it to $GAMEDAY_REPORT_DIR/mutants.json
// (default reports/out). A row that is not as expected fails its subtest.
func TestMatrix(t *testing.T) {
	wd, _ := os.Getwd()
	root, err := harness.ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("GAMEDAY_REPORT_DIR")
	if out == "" {
		out = filepath.Join(root, "reports", "out")
	}
	bin, err := os.MkdirTemp("", "mutants-bin-*") // t.TempDir's parent is closed to the gate's user
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bin)
	m, err := mutants.New(mutants.Options{Root: root, BinDir: bin, ReportDir: filepath.Join(out, "mutants"), Progress: os.Stdout})
	if err != nil {
		t.Fatal(err)
	}
	tab := &mutants.Table{StartedAt: time.Now().UTC(), Target: harness.TargetProcess}
	for _, mu := range mutants.List() {
		t.Run(mu.Name, func(t *testing.T) {
			row := m.Run(t.Context(), mu)
			tab.Rows = append(tab.Rows, row)
			if !row.OK() {
				t.Errorf("%s: %s (expected red %v, red %v, unexpected %v, survived %v) %s",
					mu.Name, row.Verdict, row.Expected, row.Red, row.Unexpected, row.Survived, row.Error)
			}
		})
	}
	tab.Finish()
	tab.Print(os.Stdout)
	path := filepath.Join(out, mutants.FileName)
	if err := tab.Write(path); err != nil {
		t.Fatal(err)
	}
	t.Logf("table written to %s", path)
}
