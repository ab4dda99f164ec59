//go:build !linux

package loadtest

import "syscall"

// bindNoPort is a no-op outside Linux.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }

// checkOpenFiles is a no-op outside Linux.
func checkOpenFiles(int) error { return nil }
