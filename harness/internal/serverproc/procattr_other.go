//go:build !linux

package serverproc

import "syscall"

// procAttr: elsewhere only Stop (or the context) ends the server.
func procAttr() *syscall.SysProcAttr { return nil }
