//go:build gameday_broken_slow_restart || gameday_broken_audit_loss || gameday_broken_cache_wipe

package main

// This file exists only in the deliberately broken gates the mutant
// matrix (package harness/mutants) builds for the crash checks, one build
// tag per mutant; each compiles one mutant_NAME.go file, which names
// it (const restartMutant). They break what a gate does when it starts
// again after a kill, and nothing on its first start: the first start
// leaves a marker beside the audit log, and a start that finds it is a
// restart. A normal build compiles none of them.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quannex/gameday/gate"
)

// The restart mutants, by the name their build tag gives.
const (
	restartSlow      = "slow_restart" // a restarted gate takes 12 s to serve
	restartAuditLoss = "audit_loss"   // a restarted gate loses the last audit entries
	restartCacheWipe = "cache_wipe"   // a restarted gate starts without its snapshots
)

// restartDelay is past the crash scenarios' back_within (10 s) and short
// of the targets' wait for a restarted gate (15 s).
const restartDelay = 12 * time.Second

func init() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		return
	}
	cache := argOrEnv(os.Args[2:], "cache-dir", "GATE_CACHE_DIR", gate.DefaultCacheDir)
	auditLog := argOrEnv(os.Args[2:], "audit-log", "GATE_AUDIT_LOG", gate.DefaultAuditLog)
	marker := filepath.Join(filepath.Dir(auditLog), ".mutant-started")
	if _, err := os.Stat(marker); err != nil {
		os.MkdirAll(filepath.Dir(marker), 0o755)
		os.WriteFile(marker, nil, 0o644) // the first start
		return
	}
	if err := breakRestart(cache, auditLog); err != nil {
		fmt.Fprintln(os.Stderr, "gate (mutant build):", err)
		os.Exit(3)
	}
}

// breakRestart does this build's damage to a restart.
func breakRestart(cache, auditLog string) error {
	switch restartMutant {
	case restartSlow:
		time.Sleep(restartDelay)
	case restartAuditLoss: // the last entries never reached the disk
		b, err := os.ReadFile(auditLog)
		if err != nil {
			return err
		}
		lines := bytes.SplitAfter(b, []byte("\n"))
		if n := len(lines) - 6; n > 0 {
			return os.WriteFile(auditLog, bytes.Join(lines[:n], nil), 0o600)
		}
	case restartCacheWipe:
		entries, err := os.ReadDir(cache)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.IsDir() {
				os.Remove(filepath.Join(cache, e.Name()))
			}
		}
	}
	return nil
}
