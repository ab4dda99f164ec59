package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/redistest"
)

const module = "github.com/switchboard-rt/switchboard/bus/redis"

// fakeLocal is a bus.Local that records every call. Its sockets, rooms and answers are set by
// the test.
type fakeLocal struct {
	mu         sync.Mutex
	rooms      map[string]bool
	sockets    []bus.SocketInfo
	broadcasts []bus.Broadcast
	joins      []roomCall
	leaves     []roomCall
	discs      []discCall
	emits      []bus.Message
	withAck    []bus.Broadcast
	// emitReply, when set, answers server-side emits that want a reply.
	emitReply *bus.Message
	// ackClients is the client count BroadcastWithAck returns; each client acks with
	// ackValue(i) at once (from another goroutine), or never when ackValue is nil.
	ackClients int
	ackValue   func(i int) bus.Message
	// matched is what Join, Leave and Disconnect return.
	matched int
	// panicOn makes Broadcast panic for this event data.
	panicOn string
}

type roomCall struct {
	Sel   bus.Selector
	Rooms []string
}

type discCall struct {
	Sel   bus.Selector
	Close bool
}

func newLocal(rooms ...string) *fakeLocal {
	l := &fakeLocal{rooms: map[string]bool{}}
	for _, r := range rooms {
		l.rooms[r] = true
	}
	return l
}

func (l *fakeLocal) Broadcast(b *bus.Broadcast) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.panicOn != "" && string(b.Data) == l.panicOn {
		panic("fakeLocal: told to panic")
	}
	c := *b
	c.Data = bytes.Clone(b.Data)
	l.broadcasts = append(l.broadcasts, c)
}

func (l *fakeLocal) BroadcastWithAck(b *bus.Broadcast, timeout time.Duration, ack func(bus.Message)) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.withAck = append(l.withAck, *b)
	if l.ackValue != nil {
		for i := 0; i < l.ackClients; i++ {
			m := l.ackValue(i)
			go ack(m)
		}
	}
	return l.ackClients
}

func (l *fakeLocal) Join(sel bus.Selector, rooms []string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.joins = append(l.joins, roomCall{sel, rooms})
	return l.matched
}

func (l *fakeLocal) Leave(sel bus.Selector, rooms []string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leaves = append(l.leaves, roomCall{sel, rooms})
	return l.matched
}

func (l *fakeLocal) Disconnect(sel bus.Selector, close bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.discs = append(l.discs, discCall{sel, close})
	return l.matched
}

func (l *fakeLocal) Sockets(sel bus.Selector) []bus.SocketInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []bus.SocketInfo
	for _, s := range l.sockets {
		if len(sel.Rooms) == 0 || slices.ContainsFunc(sel.Rooms, func(r string) bool { return slices.Contains(s.Rooms, r) }) {
			out = append(out, s)
		}
	}
	return out
}

func (l *fakeLocal) Rooms() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for r := range l.rooms {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

func (l *fakeLocal) HasRoom(room string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rooms[room]
}

func (l *fakeLocal) ServerSideEmit(m bus.Message, reply func(bus.Message)) {
	l.mu.Lock()
	l.emits = append(l.emits, bus.Message{Data: bytes.Clone(m.Data), Attachments: m.Attachments})
	r := l.emitReply
	l.mu.Unlock()
	if reply != nil && r != nil {
		go reply(*r)
	}
}

// calls is a copy of what a fakeLocal recorded.
type calls struct {
	broadcasts []bus.Broadcast
	joins      []roomCall
	leaves     []roomCall
	discs      []discCall
	emits      []bus.Message
	withAck    []bus.Broadcast
}

func (l *fakeLocal) snapshot() calls {
	l.mu.Lock()
	defer l.mu.Unlock()
	return calls{
		broadcasts: slices.Clone(l.broadcasts), joins: slices.Clone(l.joins), leaves: slices.Clone(l.leaves),
		discs: slices.Clone(l.discs), emits: slices.Clone(l.emits), withAck: slices.Clone(l.withAck),
	}
}

// waitBroadcast waits for a broadcast with data want and returns it.
func (l *fakeLocal) waitBroadcast(t testing.TB, want string) bus.Broadcast {
	t.Helper()
	var got bus.Broadcast
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		for _, b := range l.snapshot().broadcasts {
			if string(b.Data) == want {
				got = b
				return nil
			}
		}
		return fmt.Errorf("no broadcast %s yet", want)
	})
	return got
}

func (l *fakeLocal) hasBroadcast(data string) bool {
	for _, b := range l.snapshot().broadcasts {
		if string(b.Data) == data {
			return true
		}
	}
	return false
}

// countingMetrics records the adapter's metrics.
type countingMetrics struct {
	mu        sync.Mutex
	published map[string]int
	received  map[string]int
	dropped   map[string]int
	reconn    int
	downs     int
}

func newMetrics() *countingMetrics {
	return &countingMetrics{published: map[string]int{}, received: map[string]int{}, dropped: map[string]int{}}
}

func (m *countingMetrics) Published(k string) { m.mu.Lock(); m.published[k]++; m.mu.Unlock() }
func (m *countingMetrics) Received(k string)  { m.mu.Lock(); m.received[k]++; m.mu.Unlock() }
func (m *countingMetrics) Dropped(r string)   { m.mu.Lock(); m.dropped[r]++; m.mu.Unlock() }
func (m *countingMetrics) Reconnected()       { m.mu.Lock(); m.reconn++; m.mu.Unlock() }
func (m *countingMetrics) Connected(up bool) {
	m.mu.Lock()
	if !up {
		m.downs++
	}
	m.mu.Unlock()
}

func (m *countingMetrics) drops(reason string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped[reason]
}

// cluster is a test's Redis server and key, shared by its nodes.
type cluster struct {
	t   testing.TB
	srv *redistest.Server
	key string
	log *testutil.SyncBuffer
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{t: t, srv: redistest.Start(t), key: "sbtest-" + randomID(6), log: &testutil.SyncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("adapter logs:\n%s", c.log.String())
		}
	})
	return c
}

// config returns a Config for node id with short timings.
func (c *cluster) config(id string) Config {
	return Config{
		URL:               c.srv.URL(),
		Key:               c.key,
		NodeID:            id,
		RequestTimeout:    2 * time.Second,
		HeartbeatInterval: 200 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(c.log, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", id),
	}
}

// node starts an adapter with cfg (Close in Cleanup).
func (c *cluster) nodeWith(cfg Config) *Adapter {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := New(ctx, cfg)
	if err != nil {
		c.t.Fatalf("New(%s): %v", cfg.NodeID, err)
	}
	c.t.Cleanup(func() { _ = a.Close() })
	return a
}

func (c *cluster) node(id string) *Adapter { return c.nodeWith(c.config(id)) }

func attach(t testing.TB, a *Adapter, nsp string, l bus.Local) bus.Namespace {
	t.Helper()
	ns, err := a.Attach(nsp, l)
	if err != nil {
		t.Fatalf("Attach(%s): %v", nsp, err)
	}
	return ns
}

// kill stops a as a crash would: the connections drop, the registry entry stays.
func (a *Adapter) kill() {
	if !a.closed.CompareAndSwap(false, true) {
		return
	}
	a.out.stop(false)
	a.cancel()
	<-a.maintDone
	_ = a.ps.Close()
	_ = a.client.Close()
	a.wg.Wait()
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func jsonEq(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}
