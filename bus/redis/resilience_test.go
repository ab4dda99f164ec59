package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/bus/redis/wire"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// rawSubscriber subscribes a plain connection to channels: a peer that never answers.
func rawSubscriber(t *testing.T, c *cluster, channels ...string) {
	t.Helper()
	cl := goredis.NewClient(&goredis.Options{Addr: c.srv.Addr()})
	t.Cleanup(func() { _ = cl.Close() })
	ps := cl.Subscribe(ctxT(t, 5*time.Second), channels...)
	t.Cleanup(func() { _ = ps.Close() })
	for range channels {
		if _, err := ps.ReceiveTimeout(ctxT(t, 5*time.Second), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

// watch returns the messages published on channel from now on.
func watch(t *testing.T, c *cluster, channel string) <-chan string {
	t.Helper()
	cl := goredis.NewClient(&goredis.Options{Addr: c.srv.Addr()})
	ps := cl.Subscribe(ctxT(t, 5*time.Second), channel)
	if _, err := ps.ReceiveTimeout(ctxT(t, 5*time.Second), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := ps.ReceiveMessage(context.Background())
			if err != nil {
				return
			}
			out <- m.Payload
		}
	}()
	t.Cleanup(func() {
		_ = ps.Close()
		_ = cl.Close()
		<-done
	})
	return out
}

func TestPartialResults(t *testing.T) {
	c := newCluster(t)
	cfgA := c.config("A")
	cfgA.RequestTimeout = time.Second
	a, b, d := c.nodeWith(cfgA), c.node("B"), c.node("C")
	ns := attach(t, a, "/", newLocal())
	lb := newLocal()
	lb.sockets = []bus.SocketInfo{{ID: "sb1", Rooms: []string{"sb1"}}}
	attach(t, b, "/", lb)
	attach(t, d, "/", newLocal())
	// A node alive without "/" attached owes nothing.
	attach(t, c.node("D"), "/other", newLocal())
	ctx := ctxT(t, 30*time.Second)

	// A killed node is not waited for, and is reported until its registry entry expires.
	d.kill()
	start := time.Now()
	socks, res, err := ns.FetchSockets(ctx, bus.Selector{})
	if err != nil || len(socks) != 1 || res.Answered != 1 || !slices.Equal(res.Missing, []string{"C"}) {
		t.Fatalf("FetchSockets with C killed: %v %+v %v", socks, res, err)
	}
	if el := time.Since(start); el > 900*time.Millisecond {
		t.Errorf("FetchSockets waited %v for a dead node", el)
	}
	testutil.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		_, res, err := ns.AllRooms(ctx)
		if err != nil || res.Answered != 1 || len(res.Missing) != 0 {
			return fmt.Errorf("AllRooms: %+v %v", res, err)
		}
		return nil
	})

	// A live Switchboard node that does not answer ("H", registered and subscribed, mute) and
	// an anonymous subscriber that does not answer (a Node server that lost its handler).
	if _, err := c.srv.Do("ZADD", c.key+"#sb#nodes", strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10), "H"); err != nil {
		t.Fatal(err)
	}
	rawSubscriber(t, c, nodeChannel(c.key, "H"), wire.SpecificResponseChannel(c.key, "/", "H"), wire.RequestChannel(c.key, "/"))
	rawSubscriber(t, c, wire.RequestChannel(c.key, "/"))
	start = time.Now()
	socks, res, err = ns.FetchSockets(ctx, bus.Selector{})
	el := time.Since(start)
	if err != nil || len(socks) != 1 || res.Answered != 1 || !slices.Equal(res.Missing, []string{"H", "unknown-1"}) {
		t.Fatalf("FetchSockets with mute peers: %v %+v %v", socks, res, err)
	}
	if el < time.Second || el > 3*time.Second {
		t.Errorf("FetchSockets with mute peers took %v, want RequestTimeout (1s)", el)
	}
	// Join waits for the Switchboard nodes only: Node servers never answer it.
	n, res, err := ns.Join(ctx, bus.Selector{}, []string{"r"})
	if err != nil || n != 0 || res.Answered != 1 || !slices.Equal(res.Missing, []string{"H", "unknown-1"}) {
		t.Fatalf("Join with mute peers: %d %+v %v", n, res, err)
	}
	// A shorter ctx deadline ends the wait without an error; a cancelled ctx is one.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, res, err = ns.AllRooms(short)
	if err != nil || time.Since(start) > 900*time.Millisecond || !slices.Equal(res.Missing, []string{"H", "unknown-1"}) {
		t.Errorf("AllRooms with a short deadline: %+v %v after %v", res, err, time.Since(start))
	}
	cctx, ccancel := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, ccancel)
	if _, _, err := ns.AllRooms(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("AllRooms cancelled: %v", err)
	}
	// Closing the namespace ends a request in flight at once.
	done := make(chan error, 1)
	go func() { _, _, err := ns.AllRooms(ctx); done <- err }()
	time.Sleep(100 * time.Millisecond)
	_ = ns.Close()
	select {
	case err := <-done:
		if !errors.Is(err, bus.ErrClosed) {
			t.Errorf("request in flight at Close: %v", err)
		}
	case <-time.After(500 * time.Millisecond):
		t.Error("a request in flight outlived its namespace")
	}
}

func TestNodeIDConflict(t *testing.T) {
	c := newCluster(t)
	a := c.node("n1")
	attach(t, a, "/", newLocal())
	ctx := ctxT(t, 20*time.Second)
	if _, err := New(ctx, c.config("n1")); !errors.Is(err, bus.ErrNodeIDConflict) {
		t.Fatalf("New with a live node's id: %v", err)
	}
	// After Close the id is free at once: the registry entry is gone for good.
	_ = a.Close()
	time.Sleep(2 * c.config("x").HeartbeatInterval)
	if out, err := c.srv.Do("ZSCORE", c.key+"#sb#nodes", "n1"); err != nil || out != "$-1" {
		t.Errorf("registry entry after Close: %q %v", out, err)
	}
	start := time.Now()
	b := c.node("n1")
	if el := time.Since(start); el > time.Second {
		t.Errorf("New after Close took %v", el)
	}
	// After a crash it is taken over once the entry is not refreshed.
	b.kill()
	start = time.Now()
	c.node("n1")
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("New after a crash took %v", el)
	}
	// A live process whose subscriber is away still keeps its entry fresh.
	if _, err := c.srv.Do("ZADD", c.key+"#sb#nodes", strconv.FormatInt(time.Now().UnixMilli(), 10), "n2"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				_, _ = c.srv.Do("ZADD", c.key+"#sb#nodes", strconv.FormatInt(time.Now().UnixMilli(), 10), "n2")
			}
		}
	}()
	if _, err := New(ctx, c.config("n2")); !errors.Is(err, bus.ErrNodeIDConflict) {
		t.Fatalf("New with an id whose entry is kept fresh: %v", err)
	}
	for _, bad := range []string{"emitter", "a#b", "a b"} {
		if _, err := New(ctx, c.config(bad)); err == nil {
			t.Errorf("New with node id %q succeeded", bad)
		}
	}
}

func TestUnreachableRedis(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	_, err := New(ctx, Config{URL: "redis://127.0.0.1:1", NodeID: "x"})
	if !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("New with no Redis: %v", err)
	}
	if _, err := New(ctx, Config{URL: "http://nope"}); err == nil {
		t.Fatal("New with a bad URL succeeded")
	}
	testutil.NoLeaks(t, module)
}

func TestRedisRestart(t *testing.T) {
	c := newCluster(t)
	m := newMetrics()
	cfg := c.config("A")
	cfg.Metrics = m
	a, b := c.nodeWith(cfg), c.node("B")
	ns := attach(t, a, "/", newLocal())
	lb := newLocal()
	lb.sockets = []bus.SocketInfo{{ID: "sb1", Rooms: []string{"sb1"}}}
	attach(t, b, "/", lb)
	ctx := ctxT(t, 30*time.Second)
	if err := a.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	c.srv.Stop()
	testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if err := a.Ready(); !errors.Is(err, bus.ErrUnavailable) {
			return fmt.Errorf("Ready during the outage: %v", err)
		}
		return nil
	})
	// Nothing blocks meanwhile: volatile broadcasts are dropped, requests fail at once.
	if err := ns.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["lost"]`)}, Volatile: true}); err != nil {
		t.Errorf("volatile Publish during the outage: %v", err)
	}
	if _, res, err := ns.FetchSockets(ctx, bus.Selector{}); !errors.Is(err, bus.ErrUnavailable) || res.Missing == nil {
		t.Errorf("FetchSockets during the outage: %+v %v", res, err)
	}

	c.srv.Restart()
	testutil.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error { return a.Ready() })
	testutil.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error { return b.Ready() })
	// Subscriptions are back: broadcasts and requests flow again.
	testutil.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if err := ns.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["again"]`)}}); err != nil {
			return err
		}
		if !lb.hasBroadcast(`["again"]`) {
			return errors.New("broadcast not received after the restart")
		}
		return nil
	})
	testutil.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		socks, res, err := ns.FetchSockets(ctx, bus.Selector{})
		if err != nil || len(socks) != 1 || res.Answered != 1 || len(res.Missing) != 0 {
			return fmt.Errorf("FetchSockets after the restart: %v %+v %v", socks, res, err)
		}
		return nil
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reconn < 1 || m.downs < 1 {
		t.Errorf("metrics: %d reconnections, %d outages", m.reconn, m.downs)
	}
}

// Close returns promptly with Redis gone, and leaves no goroutine behind.
func TestCloseWithRedisDown(t *testing.T) {
	c := newCluster(t)
	a := c.node("A")
	ns := attach(t, a, "/", newLocal())
	ctx := ctxT(t, 10*time.Second)
	c.srv.Stop()
	for i := 0; i < 10; i++ {
		_ = ns.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["queued"]`)}})
	}
	start := time.Now()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Close took %v with Redis down", el)
	} else {
		t.Logf("Close took %v with Redis down", el)
	}
	testutil.NoLeaks(t, module)
}

// A killed subscriber connection (Redis up) is reconnected and every subscription made again,
// exactly once per node (Node servers count them).
func TestSubscriberConnectionKilled(t *testing.T) {
	c := newCluster(t)
	m := newMetrics()
	cfg := c.config("A")
	cfg.Metrics = m
	a, b := c.nodeWith(cfg), c.node("B")
	ns := attach(t, a, "/", newLocal())
	lb := newLocal()
	attach(t, b, "/", lb)
	attach(t, b, "/chat", newLocal())
	ctx := ctxT(t, 20*time.Second)
	if out, err := c.srv.Do("CLIENT", "KILL", "TYPE", "pubsub"); err != nil || out != ":2" {
		t.Fatalf("CLIENT KILL: %q %v", out, err)
	}
	testutil.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.reconn == 0 {
			return errors.New("no reconnection yet")
		}
		return nil
	})
	testutil.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if err := ns.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["again"]`)}}); err != nil {
			return err
		}
		if !lb.hasBroadcast(`["again"]`) {
			return errors.New("no broadcast after the reconnection")
		}
		return nil
	})
	counts, err := a.numsub(ctx, wire.RequestChannel(c.key, "/"), wire.RequestChannel(c.key, "/chat"),
		nodeChannel(c.key, "A"), nodeChannel(c.key, "B"))
	if err != nil || !slices.Equal(counts, []int64{2, 1, 1, 1}) {
		t.Errorf("NUMSUB after the reconnection: %v %v", counts, err)
	}
}
