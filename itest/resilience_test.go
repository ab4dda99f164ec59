package itest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// TestRedisRestart: Redis restarted under a running cluster. Clients stay
// connected, the outage shows in /readyz, and fan-out resumes.
func TestRedisRestart(t *testing.T) {
	e := newEnv(t, "redis", 3)
	a, _ := e.client(0, "/chat")
	b, _ := e.client(2, "/chat")
	join(t, b, "/chat", "r")
	if err := a.Emit("/chat", "broadcast", "r", "before"); err != nil {
		t.Fatal(err)
	}
	next(t, b, "msg")

	e.redis.Stop()
	testutil.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if status(e.edges[0].url()+"/readyz") == http.StatusOK {
			return fmt.Errorf("/readyz still 200 with Redis down")
		}
		return nil
	})
	e.redis.Restart()
	for _, p := range e.edges {
		e.waitReady(p)
	}
	// Fan-out resumes: retry until one broadcast gets through (the edges
	// resubscribe within their reconnect backoff).
	testutil.CheckFor(t, 15*time.Second, 10*time.Millisecond, func() error {
		if err := a.Emit("/chat", "broadcast", "r", "after"); err != nil {
			return err
		}
		m, err := b.Next(300 * time.Millisecond)
		if err != nil {
			return err
		}
		if m.Event != "msg" {
			return fmt.Errorf("got %s", m.Event)
		}
		return nil
	})
	select {
	case <-a.Done():
		t.Fatal("client a lost its connection")
	case <-b.Done():
		t.Fatal("client b lost its connection")
	default:
	}
	if v := metric(t, e.edges[2].url(), `switchboard_adapter_reconnects_total{adapter="redis"}`); v < 1 {
		t.Errorf("reconnects metric = %v, want >= 1", v)
	}
}

// TestNATSInterest: with the NATS adapter a node without members of a room
// does not receive that room's broadcasts at all.
func TestNATSInterest(t *testing.T) {
	e := newEnv(t, "nats", 3)
	pub, _ := e.client(0, "/chat")
	member, _ := e.client(1, "/chat")
	join(t, member, "/chat", "only-on-e2")
	time.Sleep(100 * time.Millisecond) // the interest subscription reaches the server
	const key = `switchboard_adapter_received_total{adapter="nats",kind="broadcast"}`
	before2, before3 := metric(t, e.edges[1].url(), key), metric(t, e.edges[2].url(), key)
	const n = 20
	for i := range n {
		if err := pub.Emit("/chat", "broadcast", "only-on-e2", i); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		next(t, member, "msg")
	}
	if got := metric(t, e.edges[1].url(), key) - before2; got < n {
		t.Errorf("e2 received %v broadcasts, want >= %d", got, n)
	}
	if got := metric(t, e.edges[2].url(), key) - before3; got != 0 {
		t.Errorf("e3, without members of the room, received %v of its broadcasts", got)
	}

	// A one-socket emit goes to the node that holds the socket alone (its
	// id carries the node's tag).
	target, sid := e.client(1, "/chat")
	before3 = metric(t, e.edges[2].url(), key)
	for i := range n {
		if err := pub.Emit("/chat", "broadcast", sid, i); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		next(t, target, "msg")
	}
	if got := metric(t, e.edges[2].url(), key) - before3; got != 0 {
		t.Errorf("e3 received %v one-socket broadcasts meant for a socket of e2", got)
	}
}

func status(url string) int {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// metric returns the value of one sample line of /metrics (0 when absent).
func metric(t *testing.T, base, key string) float64 {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, key+" ") {
			v, err := strconv.ParseFloat(strings.TrimPrefix(line, key+" "), 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return 0
}

// TestNodeIDConflict: a second edge with the id of a live one is refused at
// start-up, with both adapters.
func TestNodeIDConflict(t *testing.T) {
	for _, adapter := range clusterAdapters {
		t.Run(adapter, func(t *testing.T) {
			e := newEnv(t, adapter, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, binary, "edge", "--addr", freeAddr(t), "--node-id", e.edges[0].id,
				"--nats-url", e.nats, "--redis-url", e.redis.URL(), "--adapter", adapter).CombinedOutput()
			if err == nil || ctx.Err() != nil {
				t.Fatalf("second edge with id %s: err %v (ctx %v)\n%s", e.edges[0].id, err, ctx.Err(), out)
			}
			if !strings.Contains(string(out), "already in use") {
				t.Fatalf("no clear error:\n%s", out)
			}
			// The first one is unaffected.
			e.waitReady(e.edges[0])
		})
	}
}
