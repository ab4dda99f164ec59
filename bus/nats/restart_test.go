package nats

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
)

// After a NATS restart nats.go reconnects and resubscribes: room
// broadcasts and requests flow again. Meanwhile Ready reports the outage
// and volatile broadcasts are dropped.
func TestNATSRestart(t *testing.T) {
	srv, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	b.join(t, sid("b1"), "news")
	c.local.add(sid("c1"))
	for _, nd := range n {
		if err := nd.a.Ready(); err != nil {
			t.Fatal(err)
		}
	}
	port := srv.Addr().(*net.TCPAddr).Port
	srv.Shutdown()
	srv.WaitForShutdown()
	testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if err := a.a.Ready(); !errors.Is(err, bus.ErrUnavailable) {
			return fmt.Errorf("Ready during the outage: %v", err)
		}
		return nil
	})
	publish(t, a, &bus.Broadcast{Message: bus.Message{Data: event("lost")}, Volatile: true})
	if a.met.get(a.met.dropped, DropVolatile) != 1 {
		t.Fatal("volatile broadcast not dropped while NATS is down")
	}
	if _, res, err := a.ns.FetchSockets(bg, bus.Selector{}); !errors.Is(err, bus.ErrUnavailable) || len(res.Missing) != 2 {
		t.Fatalf("request during the outage: %+v %v", res, err)
	}

	opts := natstest.Options()
	opts.Port = port
	natstest.Start(t, opts)
	for _, nd := range n {
		testutil.CheckFor(t, 10*time.Second, 10*time.Millisecond, nd.a.Ready)
		flush(t, nd)
	}
	// b's room subscription is back: a's room broadcasts reach it.
	testutil.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		publish(t, a, &bus.Broadcast{Selector: bus.Selector{Rooms: []string{"news"}}, Message: bus.Message{Data: event("again")}})
		if !slices.Contains(names(b.local.broadcasts()), "again") {
			return errors.New("no room broadcast after the restart")
		}
		return nil
	})
	barrier(t, a, b, c)
	if slices.Contains(names(c.local.broadcasts()), "again") || slices.Contains(names(b.local.broadcasts()), "lost") {
		t.Fatal("wrong deliveries after the restart")
	}
	testutil.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		socks, res, err := a.ns.FetchSockets(bg, bus.Selector{})
		if err != nil || len(socks) != 2 || res.Answered != 2 || len(res.Missing) != 0 {
			return fmt.Errorf("after the restart: %d sockets %+v %v", len(socks), res, err)
		}
		return nil
	})
}

// Close returns promptly when NATS is down.
func TestCloseWhileNATSDown(t *testing.T) {
	srv, n := cluster(t, 2)
	srv.Shutdown()
	srv.WaitForShutdown()
	done := make(chan struct{})
	go func() {
		for _, nd := range n {
			_ = nd.a.Close()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close hangs while NATS is down")
	}
}
