//go:build gameday_broken_slow_restart || gameday_broken_audit_loss || gameday_broken_cache_wipe || gameday_broken_audit_trim

package main

// This file exists only in the deliberately broken gates that act on the
// gate's files (mutant_restart.go, mutant_audit_trim.go).

import (
	"os"
	"strings"
)

// argOrEnv is the value of --name in args, else of the variable env, else
// def, as gate serve would read it.
func argOrEnv(args []string, name, env, def string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}
