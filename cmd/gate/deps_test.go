package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTheGateLinksNoHarnessCode: the production binary is the gate and
// its leaves; nothing of the GameDay harness (its throwaway CA, its
// clients) is compiled into it.
func TestTheGateLinksNoHarnessCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	pkgs := strings.Fields(string(out))
	gate := false
	for _, p := range pkgs {
		if strings.HasPrefix(p, "github.com/quannex/gameday/harness") || strings.HasPrefix(p, "github.com/quannex/gameday/reports") {
			t.Errorf("cmd/gate links %s", p)
		}
		gate = gate || p == "github.com/quannex/gameday/gate"
	}
	if !gate {
		t.Fatalf("go list -deps named %d packages, not the gate among them", len(pkgs))
	}
}
