//go:build gameday_broken_audit_trim

package main

// This file exists only in the deliberately broken gate the mutant matrix
// (package harness/mutants) builds with the gameday_broken_audit_trim
// tag: a gate that, finding the disk under its audit log full, makes room
// by deleting the log. It serves /metrics as shipped; only the audit log
// after a full disk (the audit_resumed check) can tell. A normal build
// does not compile it.

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quannex/gameday/gate"
	"golang.org/x/sys/unix"
)

// trimEvery is how often the broken gate looks at its audit disk.
const trimEvery = 200 * time.Millisecond

func init() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		return
	}
	auditLog := argOrEnv(os.Args[2:], "audit-log", "GATE_AUDIT_LOG", gate.DefaultAuditLog)
	go func() { // for the life of the process
		for {
			time.Sleep(trimEvery)
			var st unix.Statfs_t
			if unix.Statfs(filepath.Dir(auditLog), &st) == nil && st.Bavail == 0 {
				if os.Remove(auditLog) == nil {
					fmt.Fprintln(os.Stderr, "gate (mutant build): audit disk full: deleted the audit log to make room")
				}
			}
		}
	}()
}
