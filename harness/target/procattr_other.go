//go:build !linux

package target

import (
	"os"
	"syscall"
)

// procAttr: without Pdeathsig (Linux only) a child outlives a killed
// harness until its own deadline (a stressor's --duration) or `gameday
// cleanup`; it still runs as nobody when the harness is root.
func procAttr(_ syscall.Signal, asGateUser bool) *syscall.SysProcAttr {
	if asGateUser && os.Geteuid() == 0 {
		return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: NobodyUID, Gid: NobodyUID}}
	}
	return nil
}
