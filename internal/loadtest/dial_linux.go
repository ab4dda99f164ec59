package loadtest

import (
	"fmt"
	"syscall"
)

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (Linux ≥ 4.2): a socket bound
// to a source IP with port 0 gets its port at connect time, so one source
// address serves ~28k connections per destination rather than ~28k in all.
const ipBindAddressNoPort = 24

// bindNoPort is a net.Dialer Control function setting ipBindAddressNoPort.
func bindNoPort(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// checkOpenFiles fails early when n connections would not fit under the
// open-file limit (the Go runtime has already raised the soft limit to the
// hard one).
func checkOpenFiles(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // unknown: let the dials fail if they must
	}
	const reserve = 64 // stdio, /proc reads, the runtime's own descriptors
	if uint64(n)+reserve > lim.Cur {
		return fmt.Errorf("%w: %d connections exceed the open-file limit %d of one process; split the clients over several processes", errConfig, n, lim.Cur)
	}
	return nil
}
