package target

import (
	"os"
	"syscall"
)

// procAttr is how a child of the harness (the gate, a stressor) is
// started: it gets sig if the harness dies, so a killed GameDay leaves no
// gate or stressor behind, and runs as nobody when the harness is root, so
// that permission faults bite.
func procAttr(sig syscall.Signal, asGateUser bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: sig}
	if asGateUser && os.Geteuid() == 0 {
		attr.Credential = &syscall.Credential{Uid: NobodyUID, Gid: NobodyUID}
	}
	return attr
}
