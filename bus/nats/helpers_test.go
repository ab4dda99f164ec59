package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
)

const module = "github.com/switchboard-rt/switchboard"

// fakeLocal is a Local over a map of sockets that records what it is asked.
type fakeLocal struct {
	node string

	mu      sync.Mutex
	sockets map[string]map[string]bool // sid → rooms (its own id included)
	bcasts  []bus.Broadcast
	emits   []bus.Message
	silent  bool            // ServerSideEmit does not reply
	noAck   map[string]bool // sockets that never ack
	panicky bool            // Broadcast panics
}

func newLocal(node string) *fakeLocal {
	return &fakeLocal{node: node, sockets: make(map[string]map[string]bool), noAck: make(map[string]bool)}
}

func (l *fakeLocal) add(sid string, rooms ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rs := l.sockets[sid]
	if rs == nil {
		rs = map[string]bool{sid: true}
		l.sockets[sid] = rs
	}
	for _, r := range rooms {
		rs[r] = true
	}
}

// match returns the selected sids, sorted. l.mu is held.
func (l *fakeLocal) match(sel bus.Selector) []string {
	var out []string
	for sid, rooms := range l.sockets {
		in := len(sel.Rooms) == 0
		for _, r := range sel.Rooms {
			in = in || rooms[r]
		}
		for _, r := range sel.Except {
			in = in && !rooms[r]
		}
		if in {
			out = append(out, sid)
		}
	}
	sort.Strings(out)
	return out
}

func (l *fakeLocal) Broadcast(b *bus.Broadcast) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.panicky {
		panic("fake panic")
	}
	l.bcasts = append(l.bcasts, *b)
}

func (l *fakeLocal) BroadcastWithAck(b *bus.Broadcast, timeout time.Duration, ack func(bus.Message)) int {
	l.mu.Lock()
	sids := l.match(b.Selector)
	var acking []string
	for _, sid := range sids {
		if !l.noAck[sid] {
			acking = append(acking, sid)
		}
	}
	l.mu.Unlock()
	go func() {
		for _, sid := range acking {
			ack(bus.Message{Data: json.RawMessage(`["ack-` + sid + `"]`), Attachments: [][]byte{{1, 2}}})
		}
	}()
	return len(sids)
}

func (l *fakeLocal) Join(sel bus.Selector, rooms []string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	sids := l.match(sel)
	for _, sid := range sids {
		for _, r := range rooms {
			l.sockets[sid][r] = true
		}
	}
	return len(sids)
}

func (l *fakeLocal) Leave(sel bus.Selector, rooms []string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	sids := l.match(sel)
	for _, sid := range sids {
		for _, r := range rooms {
			delete(l.sockets[sid], r)
		}
	}
	return len(sids)
}

func (l *fakeLocal) Disconnect(sel bus.Selector, close bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	sids := l.match(sel)
	for _, sid := range sids {
		delete(l.sockets, sid)
	}
	return len(sids)
}

func (l *fakeLocal) Sockets(sel bus.Selector) []bus.SocketInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []bus.SocketInfo
	for _, sid := range l.match(sel) {
		var rooms []string
		for r := range l.sockets[sid] {
			rooms = append(rooms, r)
		}
		sort.Strings(rooms)
		out = append(out, bus.SocketInfo{ID: sid, Node: l.node, Rooms: rooms, Data: json.RawMessage(`{"node":"` + l.node + `"}`),
			User: "u-" + sid, Handshake: json.RawMessage(`{"url":"/"}`)})
	}
	return out
}

func (l *fakeLocal) Rooms() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := map[string]bool{}
	for _, rooms := range l.sockets {
		for r := range rooms {
			set[r] = true
		}
	}
	return sortedKeys(set, nil)
}

func (l *fakeLocal) HasRoom(room string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, rooms := range l.sockets {
		if rooms[room] {
			return true
		}
	}
	return false
}

func (l *fakeLocal) ServerSideEmit(m bus.Message, reply func(bus.Message)) {
	l.mu.Lock()
	l.emits = append(l.emits, m)
	silent := l.silent
	l.mu.Unlock()
	if reply != nil && !silent {
		reply(bus.Message{Data: json.RawMessage(`["from-` + l.node + `"]`)})
	}
}

func (l *fakeLocal) broadcasts() []bus.Broadcast {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.bcasts)
}

func (l *fakeLocal) emitted() []bus.Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.emits)
}

// countMetrics counts by kind and reason.
type countMetrics struct {
	mu        sync.Mutex
	published map[string]int
	received  map[string]int
	dropped   map[string]int
}

func newMetrics() *countMetrics {
	return &countMetrics{published: map[string]int{}, received: map[string]int{}, dropped: map[string]int{}}
}

func (m *countMetrics) Published(kind string, _ int) { m.add(m.published, kind, 1) }
func (m *countMetrics) Received(kind string, _ int)  { m.add(m.received, kind, 1) }
func (m *countMetrics) Dropped(reason string, n int) { m.add(m.dropped, reason, n) }

func (m *countMetrics) add(c map[string]int, k string, n int) {
	m.mu.Lock()
	c[k] += n
	m.mu.Unlock()
}

func (m *countMetrics) get(c map[string]int, k string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return c[k]
}

// testNode is one adapter of a test cluster, attached to namespace "/chat".
type testNode struct {
	id    string
	nc    *natsgo.Conn
	a     *Adapter
	ns    bus.Namespace
	local *fakeLocal
	met   *countMetrics
}

// fastConfig makes peers expire quickly.
func fastConfig(c *Config) {
	c.RequestTimeout = 2 * time.Second
	c.Heartbeat = 100 * time.Millisecond
	c.PeerTTL = time.Second
}

// startServer runs a NATS server and fails the test on goroutines of the
// module left behind.
func startServer(t testing.TB) *server.Server {
	t.Helper()
	t.Cleanup(func() { testutil.NoLeaks(t, module) })
	return natstest.Start(t, nil)
}

func newNode(t testing.TB, url, id string, mods ...func(*Config)) *testNode {
	t.Helper()
	quiet := natsgo.ErrorHandler(func(*natsgo.Conn, *natsgo.Subscription, error) {}) // slow consumers are expected in a test
	n := &testNode{id: id, nc: natstest.Connect(t, url, quiet), local: newLocal(id), met: newMetrics()}
	cfg := Config{Conn: n.nc, NodeID: id, Metrics: n.met}
	fastConfig(&cfg)
	for _, m := range mods {
		m(&cfg)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", id, err)
	}
	t.Cleanup(func() { _ = a.Close() })
	n.a = a
	if n.ns, err = a.Attach("/chat", n.local); err != nil {
		t.Fatal(err)
	}
	flush(t, n)
	return n
}

// cluster starts a server and n nodes "a", "b", "c", … that know each other.
func cluster(t testing.TB, n int, mods ...func(*Config)) (*server.Server, []*testNode) {
	t.Helper()
	srv := startServer(t)
	var nodes []*testNode
	for i := range n {
		nodes = append(nodes, newNode(t, srv.ClientURL(), string(rune('a'+i)), mods...))
	}
	for _, nd := range nodes {
		testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
			if got := nd.a.peers.len(); got != n-1 {
				return fmt.Errorf("node %s knows %d peers", nd.id, got)
			}
			return nil
		})
	}
	return srv, nodes
}

// join puts a socket in rooms and announces the rooms, as the edge would.
func (n *testNode) join(t testing.TB, sid string, rooms ...string) {
	t.Helper()
	n.local.add(sid, rooms...)
	for _, r := range rooms {
		n.ns.RoomCreated(r)
	}
	flush(t, n)
}

// leave takes a socket out of rooms and announces the rooms it emptied.
func (n *testNode) leave(t testing.TB, sid string, rooms ...string) {
	t.Helper()
	n.local.mu.Lock()
	for _, r := range rooms {
		delete(n.local.sockets[sid], r)
	}
	n.local.mu.Unlock()
	for _, r := range rooms {
		if !n.local.HasRoom(r) {
			n.ns.RoomDeleted(r)
		}
	}
	flush(t, n)
}

// flush makes sure the server processed n's subscriptions.
func flush(t testing.TB, n *testNode) {
	t.Helper()
	if err := n.nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// sid makes a socket-id-shaped id.
// sid returns a socket id of the node named by name's first letter
// ("b1": a socket of node b): tagged as that node's edge would tag it.
func sid(name string) string {
	s := tagToken(socketIDTag(name[:1])) + name + "________________"
	return s[:20]
}

// waitBroadcasts waits until node n's Local got want broadcasts.
func waitBroadcasts(t testing.TB, n *testNode, want int) []bus.Broadcast {
	t.Helper()
	var got []bus.Broadcast
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		got = n.local.broadcasts()
		if len(got) < want {
			return fmt.Errorf("node %s got %d broadcasts, want %d", n.id, len(got), want)
		}
		return nil
	})
	return got
}

func event(name string) json.RawMessage { return json.RawMessage(`["` + name + `"]`) }

// names returns the event names of broadcasts.
func names(bs []bus.Broadcast) []string {
	var out []string
	for _, b := range bs {
		var v []string
		_ = json.Unmarshal(b.Data, &v)
		if len(v) > 0 {
			out = append(out, v[0])
		}
	}
	return out
}

func publish(t testing.TB, n *testNode, b *bus.Broadcast) {
	t.Helper()
	if err := n.ns.Publish(context.Background(), b); err != nil {
		t.Fatalf("publish from %s: %v", n.id, err)
	}
}

// barrier publishes a namespace-wide broadcast from n and waits until
// every other node got it: NATS keeps n's order, so whatever n published
// before has arrived too.
func barrier(t testing.TB, n *testNode, others ...*testNode) {
	t.Helper()
	name := fmt.Sprintf("barrier-%d", time.Now().UnixNano())
	publish(t, n, &bus.Broadcast{Message: bus.Message{Data: event(name)}})
	for _, o := range others {
		testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			if !slices.Contains(names(o.local.broadcasts()), name) {
				return fmt.Errorf("node %s did not get %s", o.id, name)
			}
			return nil
		})
	}
}
