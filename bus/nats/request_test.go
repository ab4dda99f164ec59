package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

var bg = context.Background()

func wantResult(t *testing.T, what string, res bus.Result, err error, answered int, missing ...string) {
	t.Helper()
	if missing == nil {
		missing = []string{}
	}
	if err != nil || res.Answered != answered || !reflect.DeepEqual(res.Missing, missing) {
		t.Fatalf("%s: %+v %v, want answered %d missing %q", what, res, err, answered, missing)
	}
}

func TestRequests(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	a.local.add(sid("a1"), "r")
	b.local.add(sid("b1"), "r", "s")
	b.local.add(sid("b2"), "s")
	c.local.add(sid("c1"), "r")

	socks, res, err := a.ns.FetchSockets(bg, bus.Selector{Rooms: []string{"r"}})
	wantResult(t, "FetchSockets", res, err, 2)
	sort.Slice(socks, func(i, j int) bool { return socks[i].Node < socks[j].Node })
	want := []bus.SocketInfo{
		{ID: sid("b1"), Node: "b", Rooms: []string{sid("b1"), "r", "s"}, Data: json.RawMessage(`{"node":"b"}`), User: "u-" + sid("b1"), Handshake: json.RawMessage(`{"url":"/"}`)},
		{ID: sid("c1"), Node: "c", Rooms: []string{sid("c1"), "r"}, Data: json.RawMessage(`{"node":"c"}`), User: "u-" + sid("c1"), Handshake: json.RawMessage(`{"url":"/"}`)},
	}
	if !reflect.DeepEqual(socks, want) {
		t.Fatalf("FetchSockets:\n got %+v\nwant %+v", socks, want)
	}

	rooms, res, err := a.ns.AllRooms(bg)
	wantResult(t, "AllRooms", res, err, 2)
	want2 := []string{sid("b1"), sid("b2"), sid("c1"), "r", "s"}
	sort.Strings(want2)
	if want := want2; !reflect.DeepEqual(rooms, want) {
		t.Fatalf("AllRooms: %q, want %q", rooms, want)
	}

	matched, res, err := a.ns.Join(bg, bus.Selector{Rooms: []string{"s"}, Except: []string{"r"}}, []string{"t", "u"})
	wantResult(t, "Join", res, err, 2)
	if matched != 1 || !b.local.HasRoom("t") || c.local.HasRoom("t") {
		t.Fatalf("Join matched %d", matched)
	}
	matched, res, err = a.ns.Leave(bg, bus.Selector{}, []string{"t"})
	wantResult(t, "Leave", res, err, 2)
	if matched != 3 || b.local.HasRoom("t") || !b.local.HasRoom("u") {
		t.Fatalf("Leave matched %d", matched)
	}
	matched, res, err = a.ns.Disconnect(bg, bus.Selector{Rooms: []string{"r"}}, true)
	wantResult(t, "Disconnect", res, err, 2)
	if matched != 2 || b.local.HasRoom(sid("b1")) || !b.local.HasRoom(sid("b2")) {
		t.Fatalf("Disconnect matched %d", matched)
	}
	if !a.local.HasRoom(sid("a1")) {
		t.Fatal("the requesting node applied the request to itself")
	}
}

func TestServerSideEmit(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	msg := bus.Message{Data: json.RawMessage(`["ping",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}}
	res, err := a.ns.ServerSideEmit(bg, msg, nil)
	wantResult(t, "ServerSideEmit without reply", res, err, 0)
	for _, nd := range []*testNode{b, c} {
		testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			if got := nd.local.emitted(); len(got) != 1 || string(got[0].Data) != string(msg.Data) || string(got[0].Attachments[0]) != "\x07" {
				return fmt.Errorf("node %s got %v", nd.id, got)
			}
			return nil
		})
	}

	var replies []string
	res, err = a.ns.ServerSideEmit(bg, msg, func(m bus.Message) { replies = append(replies, string(m.Data)) })
	wantResult(t, "ServerSideEmit", res, err, 2)
	sort.Strings(replies)
	if want := []string{`["from-b"]`, `["from-c"]`}; !reflect.DeepEqual(replies, want) {
		t.Fatalf("replies %q", replies)
	}

	// A node whose handlers do not answer is Missing after the timeout,
	// or the ctx deadline when it is shorter.
	c.local.mu.Lock()
	c.local.silent = true
	c.local.mu.Unlock()
	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	replies = nil
	res, err = a.ns.ServerSideEmit(ctx, msg, func(m bus.Message) { replies = append(replies, string(m.Data)) })
	wantResult(t, "ServerSideEmit with a silent node", res, err, 1, "c")
	if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
		t.Fatalf("waited %v for the ctx deadline", d)
	}
	if len(replies) != 1 {
		t.Fatalf("replies %q", replies)
	}

	// A cancelled ctx returns its error with the partial result.
	ctx, cancel = context.WithCancel(bg)
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err = a.ns.ServerSideEmit(ctx, msg, func(bus.Message) {})
	if !errors.Is(err, context.Canceled) || res.Answered != 1 || !reflect.DeepEqual(res.Missing, []string{"c"}) {
		t.Fatalf("cancelled: %+v %v", res, err)
	}
}

func TestPublishWithAck(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	b.local.add(sid("b1"), "r")
	b.local.add(sid("b2"), "r")
	b.local.add(sid("b3"))
	c.local.add(sid("c1"), "r")

	var mu sync.Mutex
	var counts []int
	var acks []string
	var busy bool
	count := func(k int) {
		mu.Lock()
		defer mu.Unlock()
		if busy {
			t.Error("count and ack overlap")
		}
		counts = append(counts, k)
	}
	ack := func(m bus.Message) {
		mu.Lock()
		busy = true
		acks = append(acks, string(m.Data))
		busy = false
		mu.Unlock()
	}
	bc := &bus.Broadcast{Selector: bus.Selector{Rooms: []string{"r"}}, Message: bus.Message{Data: event("q")}}
	start := time.Now()
	res, err := a.ns.PublishWithAck(bg, bc, 3*time.Second, count, ack)
	wantResult(t, "PublishWithAck", res, err, 2)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("did not return once every client answered (%v)", d)
	}
	sort.Ints(counts)
	sort.Strings(acks)
	want := []string{`["ack-` + sid("b1") + `"]`, `["ack-` + sid("b2") + `"]`, `["ack-` + sid("c1") + `"]`}
	sort.Strings(want)
	if !reflect.DeepEqual(counts, []int{1, 2}) || !reflect.DeepEqual(acks, want) {
		t.Fatalf("counts %v acks %q", counts, acks)
	}

	// A client that never answers holds the call until timeout.
	b.local.mu.Lock()
	b.local.noAck[sid("b2")] = true
	b.local.mu.Unlock()
	counts, acks = nil, nil
	start = time.Now()
	res, err = a.ns.PublishWithAck(bg, bc, 400*time.Millisecond, count, ack)
	wantResult(t, "PublishWithAck with a silent client", res, err, 2)
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Fatalf("returned after %v, before the timeout", d)
	}
	if len(acks) != 2 || len(counts) != 2 {
		t.Fatalf("counts %v acks %q", counts, acks)
	}
}

// A node killed without goodbye is Missing until its heartbeat expires;
// later requests do not wait for it.
func TestPartialResults(t *testing.T) {
	_, n := cluster(t, 3, func(c *Config) {
		c.RequestTimeout = 500 * time.Millisecond
		c.PeerTTL = 600 * time.Millisecond
	})
	a, b, c := n[0], n[1], n[2]
	b.local.add(sid("b1"))
	c.local.add(sid("c1"))
	c.nc.Close() // abrupt: no goodbye

	start := time.Now()
	socks, res, err := a.ns.FetchSockets(bg, bus.Selector{})
	wantResult(t, "FetchSockets", res, err, 1, "c")
	if len(socks) != 1 || socks[0].ID != sid("b1") {
		t.Fatalf("sockets %+v", socks)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("gave up on c after %v", d)
	}
	for _, call := range []func() (bus.Result, error){
		func() (bus.Result, error) { _, r, err := a.ns.AllRooms(bg); return r, err },
		func() (bus.Result, error) { _, r, err := a.ns.Join(bg, bus.Selector{}, []string{"x"}); return r, err },
		func() (bus.Result, error) { _, r, err := a.ns.Leave(bg, bus.Selector{}, []string{"x"}); return r, err },
		func() (bus.Result, error) {
			return a.ns.PublishWithAck(bg, &bus.Broadcast{Message: bus.Message{Data: event("e")}}, time.Second, nil, nil)
		},
		func() (bus.Result, error) {
			return a.ns.ServerSideEmit(bg, bus.Message{Data: event("e")}, func(bus.Message) {})
		},
		func() (bus.Result, error) { _, r, err := a.ns.Disconnect(bg, bus.Selector{}, false); return r, err },
	} {
		res, err := call()
		if err != nil || !slices.Equal(res.Missing, []string{"c"}) && !slices.Equal(res.Missing, []string{}) {
			t.Fatalf("%+v %v", res, err)
		}
	}
	testutil.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if a.a.peers.live(time.Now())["c"] {
			return errors.New("c still live")
		}
		return nil
	})
	start = time.Now()
	_, res, err = a.ns.FetchSockets(bg, bus.Selector{})
	wantResult(t, "FetchSockets after the TTL", res, err, 1)
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Fatalf("still waited %v for an expired node", d)
	}
}

// A peer that says goodbye during a request stops being waited for.
func TestPeerLeavesDuringRequest(t *testing.T) {
	_, n := cluster(t, 3, func(c *Config) { c.RequestTimeout = 10 * time.Second })
	a, c := n[0], n[2]
	c.local.mu.Lock()
	c.local.silent = true
	c.local.mu.Unlock()
	time.AfterFunc(200*time.Millisecond, func() { _ = c.a.Close() })
	start := time.Now()
	res, err := a.ns.ServerSideEmit(bg, bus.Message{Data: event("e")}, func(bus.Message) {})
	wantResult(t, "ServerSideEmit", res, err, 1, "c")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("waited %v for a node that left", d)
	}
	start = time.Now()
	_, res, err = a.ns.AllRooms(bg)
	wantResult(t, "AllRooms", res, err, 1)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("waited %v", d)
	}
}

func TestNodeIDConflict(t *testing.T) {
	srv, n := cluster(t, 2)
	nc := n[0].nc
	_, err := New(bg, Config{Conn: nc, NodeID: "b"})
	if !errors.Is(err, bus.ErrNodeIDConflict) {
		t.Fatalf("New with a live node's id: %v", err)
	}
	if _, err := New(bg, Config{Conn: nc, NodeID: "hb"}); err == nil {
		t.Fatal("New with a reserved id")
	}
	if _, err := New(bg, Config{}); err == nil {
		t.Fatal("New without a connection")
	}
	_ = n[1].a.Close()
	nd := newNode(t, srv.ClientURL(), "b")
	if nd.a.NodeID() != "b" {
		t.Fatal(nd.a.NodeID())
	}
	// Unnamed nodes get distinct ids.
	x, err := New(bg, Config{Conn: nc})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	y, err := New(bg, Config{Conn: nc})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if x.NodeID() == y.NodeID() || x.NodeID() == "" {
		t.Fatalf("ids %q %q", x.NodeID(), y.NodeID())
	}
}

// A node without the namespace answers as one without sockets there.
func TestRequestUnknownNamespace(t *testing.T) {
	_, n := cluster(t, 2)
	a, b := n[0], n[1]
	b.local.add(sid("b1"))
	ns, err := a.a.Attach("/other", newLocal("a"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	socks, res, err := ns.FetchSockets(bg, bus.Selector{})
	wantResult(t, "FetchSockets", res, err, 1)
	matched, res, err := ns.Join(bg, bus.Selector{}, []string{"x"})
	wantResult(t, "Join", res, err, 1)
	res, err = ns.ServerSideEmit(bg, bus.Message{Data: event("e")}, func(bus.Message) { t.Error("reply") })
	wantResult(t, "ServerSideEmit", res, err, 1)
	res, err = ns.PublishWithAck(bg, &bus.Broadcast{}, time.Second, func(k int) {
		if k != 0 {
			t.Errorf("count %d", k)
		}
	}, nil)
	wantResult(t, "PublishWithAck", res, err, 1)
	if len(socks) != 0 || matched != 0 || time.Since(start) > time.Second {
		t.Fatalf("%v %d %v", socks, matched, time.Since(start))
	}
}

// A starting node learns the live peers from their answers to its hello
// before New returns, and they learn it from the hello; its first request
// waits for them.
func TestDiscovery(t *testing.T) {
	srv, n := cluster(t, 2, func(c *Config) { c.Heartbeat = time.Hour; c.PeerTTL = time.Hour })
	n[1].local.add(sid("b1"))
	c := newNode(t, srv.ClientURL(), "c", func(c *Config) { c.Heartbeat = time.Hour; c.PeerTTL = time.Hour })
	if live := c.a.peers.live(time.Now()); !live["a"] || !live["b"] || len(live) != 2 {
		t.Fatalf("new node knows %v", live)
	}
	socks, res, err := c.ns.FetchSockets(bg, bus.Selector{})
	wantResult(t, "FetchSockets", res, err, 2)
	if len(socks) != 1 {
		t.Fatalf("sockets %v", socks)
	}
	for _, nd := range n {
		testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
			if !nd.a.peers.live(time.Now())["c"] {
				return fmt.Errorf("node %s does not know c", nd.id)
			}
			return nil
		})
	}
}

// A node with more sockets (or rooms) than one message holds answers in
// pieces; the requester gets them all and counts the node as answered.
func TestLargeListsComeInPieces(t *testing.T) {
	const limit = 2048
	_, n := cluster(t, 3, func(c *Config) { c.MaxMessageBytes = limit })
	a, b := n[0], n[1]
	const count = 300 // ~30 KB of socket descriptions
	for i := range count {
		b.local.add(sid(fmt.Sprintf("b%04d", i)), "r", fmt.Sprintf("room-%d", i))
	}
	n[2].local.add(sid("c1"), "r")
	socks, res, err := a.ns.FetchSockets(bg, bus.Selector{Rooms: []string{"r"}})
	wantResult(t, "FetchSockets", res, err, 2)
	if len(socks) != count+1 {
		t.Fatalf("FetchSockets: %d sockets, want %d", len(socks), count+1)
	}
	seen := map[string]bool{}
	for _, s := range socks {
		if seen[s.ID] {
			t.Fatalf("socket %s twice", s.ID)
		}
		seen[s.ID] = true
	}
	rooms, res, err := a.ns.AllRooms(bg)
	wantResult(t, "AllRooms", res, err, 2)
	if want := 2*count + 2; len(rooms) != want { // room-i and each sid of b, "r", the sid of c1
		t.Fatalf("AllRooms: %d rooms, want %d", len(rooms), want)
	}
	if got := b.met.get(b.met.published, KindReply); got <= 4 { // two requests
		t.Fatalf("node b published %d replies: the answers were not split", got)
	}
	if d := b.met.get(b.met.dropped, DropOversize); d != 0 {
		t.Fatalf("%d replies dropped as oversize", d)
	}
}
