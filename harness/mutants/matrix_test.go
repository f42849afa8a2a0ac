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

// TestMatrix runs every mutant (make mutants), one subtest each, then
// prints the table and writes it to $GAMEDAY_REPORT_DIR/mutants.json
// (default reports/out). A row that is not as expected fails its subtest.
// The variants are built first; a row marked Alone runs by itself, the
// others side by side (go test -parallel bounds how many at once).
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
	t.Cleanup(func() { os.RemoveAll(bin) }) // after the parallel rows, which run once TestMatrix returns
	m, err := mutants.New(mutants.Options{Root: root, BinDir: bin, ReportDir: filepath.Join(out, "mutants"), Progress: os.Stdout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	tab := &mutants.Table{StartedAt: time.Now().UTC(), Target: harness.TargetProcess}
	list := mutants.List()
	if err := m.Build(t.Context(), list); err != nil {
		t.Fatal(err)
	}
	rows := make([]*mutants.Row, len(list))
	// After every subtest, parallel ones included: the table in List order.
	t.Cleanup(func() {
		for _, r := range rows {
			if r != nil {
				tab.Rows = append(tab.Rows, *r)
			}
		}
		tab.Finish()
		tab.Print(os.Stdout)
		path := filepath.Join(out, mutants.FileName)
		if err := tab.Write(path); err != nil {
			t.Error(err)
			return
		}
		t.Logf("table written to %s", path)
	})
	for i, mu := range list {
		t.Run(mu.Name, func(t *testing.T) {
			if !mu.Alone {
				t.Parallel() // waits until the Alone rows, which run first, are done
			}
			row := m.Run(t.Context(), mu)
			rows[i] = &row
			if !row.OK() {
				t.Errorf("%s: %s (expected red %v, red %v, unexpected %v, survived %v) %s",
					mu.Name, row.Verdict, row.Expected, row.Red, row.Unexpected, row.Survived, row.Error)
			}
		})
	}
}
