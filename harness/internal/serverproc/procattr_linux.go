package serverproc

import "syscall"

// procAttr kills the server if the process that started it dies, so that
// a killed test or GameDay leaves none behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
