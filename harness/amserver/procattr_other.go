//go:build !linux

package amserver

import "syscall"

// procAttr: elsewhere only Stop (or the context) ends Alertmanager.
func procAttr() *syscall.SysProcAttr { return nil }
