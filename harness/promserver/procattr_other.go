//go:build !linux

package promserver

import "syscall"

// procAttr: elsewhere only Stop (or the context) ends the server.
func procAttr() *syscall.SysProcAttr { return nil }
