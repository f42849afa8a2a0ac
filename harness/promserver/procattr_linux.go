package promserver

import "syscall"

// procAttr kills the server if the process that started it dies, so that
// a killed test leaves no Prometheus behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
