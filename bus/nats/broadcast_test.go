package nats

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

func countName(bs []bus.Broadcast, name string) int {
	n := 0
	for _, x := range names(bs) {
		if x == name {
			n++
		}
	}
	return n
}

func TestBroadcastNamespaceWide(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	want := bus.Broadcast{
		Selector: bus.Selector{Except: []string{"muted"}},
		Message:  bus.Message{Data: []byte(`["hello",{"_placeholder":true,"num":0},"é"]`), Attachments: [][]byte{{0, 1, 255}, {}}},
		Volatile: true,
	}
	publish(t, a, &want)
	for _, nd := range []*testNode{b, c} {
		got := waitBroadcasts(t, nd, 1)[0]
		if !reflect.DeepEqual(got.Selector, want.Selector) || !bytes.Equal(got.Data, want.Data) || !got.Volatile ||
			len(got.Attachments) != 2 || !bytes.Equal(got.Attachments[0], want.Attachments[0]) || len(got.Attachments[1]) != 0 {
			t.Fatalf("node %s got %+v, want %+v", nd.id, got, want)
		}
	}
	barrier(t, a, b, c)
	if got := a.local.broadcasts(); len(got) != 0 {
		t.Fatalf("the sender got its own broadcast: %v", names(got))
	}
	for _, nd := range n {
		if l := len(nd.local.broadcasts()); nd != a && l != 2 {
			t.Errorf("node %s got %d broadcasts, want 2", nd.id, l)
		}
	}
}

// A node without members of a room receives none of its broadcasts, not
// even on the wire; RoomDeleted stops them.
func TestBroadcastInterest(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	b.join(t, sid("b1"), "news")
	for i := range 5 {
		publish(t, a, &bus.Broadcast{Selector: bus.Selector{Rooms: []string{"news"}}, Message: bus.Message{Data: event(fmt.Sprint("news-", i))}})
	}
	barrier(t, a, b, c)
	if got := countName(b.local.broadcasts(), "news-4"); got != 1 || len(b.local.broadcasts()) != 6 {
		t.Fatalf("member node got %v", names(b.local.broadcasts()))
	}
	if got := c.local.broadcasts(); len(got) != 1 {
		t.Fatalf("node without members got %v", names(got))
	}
	if got := c.met.get(c.met.received, KindBroadcast); got != 1 {
		t.Fatalf("node without members received %d broadcasts from NATS, want only the barrier", got)
	}

	b.ns.RoomDeleted("news")
	flush(t, b)
	publish(t, a, &bus.Broadcast{Selector: bus.Selector{Rooms: []string{"news"}}, Message: bus.Message{Data: event("after")}})
	barrier(t, a, b, c)
	if got := countName(b.local.broadcasts(), "after"); got != 0 {
		t.Fatal("a node got a room's broadcast after RoomDeleted")
	}
	if got := b.met.get(b.met.received, KindBroadcast); got != 7 {
		t.Fatalf("node b received %d broadcasts from NATS, want 7", got)
	}
}

// A broadcast to several rooms reaches each node with members in any of
// them exactly once.
func TestBroadcastExactlyOnce(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	b.join(t, sid("b1"), "x", "y")
	b.join(t, sid("b2"), "z")
	c.join(t, sid("c1"), "y")
	c.join(t, sid("c2"))
	a.join(t, sid("a1"), "x", "y", "z")

	sels := []bus.Selector{
		{Rooms: []string{"x", "y", "z"}},
		{Rooms: []string{"y", "x", "y", sid("c2"), "nobody"}, Except: []string{"z"}},
		{Rooms: []string{sid("b1"), sid("c2"), "y"}},
	}
	for i, sel := range sels {
		publish(t, a, &bus.Broadcast{Selector: sel, Message: bus.Message{Data: event(fmt.Sprint("multi-", i))}})
	}
	// More rooms than maxRoomSubjects: one copy on P.node.sel, filtered.
	var many []string
	for i := range maxRoomSubjects + 4 {
		many = append(many, fmt.Sprint("r", i))
	}
	b.join(t, sid("b3"), many[3], many[maxRoomSubjects+2])
	publish(t, a, &bus.Broadcast{Selector: bus.Selector{Rooms: many}, Message: bus.Message{Data: event("many")}})
	barrier(t, a, b, c)

	for _, nd := range []*testNode{b, c} {
		got := nd.local.broadcasts()
		for i, sel := range sels {
			if k := countName(got, fmt.Sprint("multi-", i)); k != 1 {
				t.Errorf("node %s got broadcast %d %d times, want once", nd.id, i, k)
			}
			for _, x := range got {
				if names([]bus.Broadcast{x})[0] == fmt.Sprint("multi-", i) && !reflect.DeepEqual(x.Selector, sel) {
					t.Errorf("node %s got selector %+v, want %+v", nd.id, x.Selector, sel)
				}
			}
		}
	}
	if k := countName(b.local.broadcasts(), "many"); k != 1 {
		t.Errorf("node b got the many-room broadcast %d times", k)
	}
	if k := countName(c.local.broadcasts(), "many"); k != 0 {
		t.Errorf("node c got the many-room broadcast %d times", k)
	}
	if b.met.get(b.met.dropped, DropDuplicate) == 0 {
		t.Error("no duplicate copy was dropped")
	}
	if c.met.get(c.met.dropped, DropNotLocal) == 0 {
		t.Error("no sel copy was filtered out")
	}
}

// A broadcast to one socket reaches only the node holding it.
func TestBroadcastOneSocket(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	c.join(t, sid("ctarget"))
	b.join(t, sid("bother"), "room")
	publish(t, a, &bus.Broadcast{Selector: bus.Selector{Rooms: []string{sid("ctarget")}}, Message: bus.Message{Data: event("private")}})
	barrier(t, a, b, c)
	if k := countName(c.local.broadcasts(), "private"); k != 1 {
		t.Fatalf("owner got the private emit %d times", k)
	}
	if k := countName(b.local.broadcasts(), "private"); k != 0 {
		t.Fatal("another node delivered the private emit")
	}
	// Routed by the id's owner tag: the other nodes never receive it (b
	// received the barrier's broadcast only, and dropped nothing).
	if k := b.met.get(b.met.received, KindBroadcast); k != 1 {
		t.Fatalf("node b received %d broadcasts, want the barrier's only", k)
	}
	if k := b.met.get(b.met.dropped, DropNotLocal); k != 0 {
		t.Fatalf("node b dropped %d", k)
	}
}

// A named room that looks like a socket id still reaches its members on
// every node (they subscribe to its tag), once each.
func TestBroadcastSocketIDLikeRoom(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	room := "RoomLooksLikeAnId_01"
	b.join(t, sid("b1"), room)
	c.join(t, sid("c1"), room)
	publish(t, a, &bus.Broadcast{Selector: bus.Selector{Rooms: []string{room, sid("c1")}}, Message: bus.Message{Data: event("odd")}})
	barrier(t, a, b, c)
	if kb, kc := countName(b.local.broadcasts(), "odd"), countName(c.local.broadcasts(), "odd"); kb != 1 || kc != 1 {
		t.Fatalf("b got %d, c got %d, want 1 each", kb, kc)
	}
	b.leave(t, sid("b1"), room)
	publish(t, a, &bus.Broadcast{Selector: bus.Selector{Rooms: []string{room}}, Message: bus.Message{Data: event("odd2")}})
	barrier(t, a, b, c)
	if kb, kc := countName(b.local.broadcasts(), "odd2"), countName(c.local.broadcasts(), "odd2"); kb != 0 || kc != 1 {
		t.Fatalf("after b left: b got %d, c got %d", kb, kc)
	}
}

func TestPublishErrors(t *testing.T) {
	_, n := cluster(t, 1, func(c *Config) { c.MaxMessageBytes = 100 })
	a := n[0]
	err := a.ns.Publish(context.Background(), &bus.Broadcast{Message: bus.Message{Data: []byte(`["` + strings.Repeat("x", 200) + `"]`)}})
	if !errors.Is(err, bus.ErrTooLarge) {
		t.Fatalf("oversize publish: %v", err)
	}
	_, _, err = a.ns.Join(context.Background(), bus.Selector{Rooms: []string{strings.Repeat("r", 200)}}, nil)
	if !errors.Is(err, bus.ErrTooLarge) {
		t.Fatalf("oversize request: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.ns.Publish(ctx, &bus.Broadcast{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("publish with a cancelled ctx: %v", err)
	}
	_ = a.ns.Close()
	if err := a.ns.Publish(context.Background(), &bus.Broadcast{}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("publish on a closed namespace: %v", err)
	}
	if _, _, err := a.ns.FetchSockets(context.Background(), bus.Selector{}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("request on a closed namespace: %v", err)
	}
	if _, err := a.a.Attach("/chat", a.local); err != nil {
		t.Fatalf("attach after close: %v", err)
	}
	if _, err := a.a.Attach("/chat", a.local); err == nil {
		t.Fatal("attached a namespace twice")
	}
	_ = a.a.Close()
	if _, err := a.a.Attach("/other", a.local); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("attach after Close: %v", err)
	}
	if err := a.a.Ready(); !errors.Is(err, bus.ErrClosed) || !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("Ready after Close: %v", err)
	}
}

// Hostile messages are dropped and counted; the adapter keeps working.
func TestMalformedMessagesDropped(t *testing.T) {
	_, n := cluster(t, 2, func(c *Config) { c.MaxMessageBytes = 4096 })
	a, b := n[0], n[1]
	b.local.add(sid("b1"))
	good := appendBroadcast(nil, 42, &bus.Broadcast{Message: bus.Message{Data: event("x")}})
	badVersion := append([]byte{9}, good[1:]...)
	badKind := append([]byte{1, 77}, good[2:]...)
	cases := []struct {
		subj   string
		data   []byte
		reason string
	}{
		{"sb.node.bc.chat", []byte("garbage"), DropMalformed},
		{"sb.node.bc.chat", good[:len(good)-1], DropMalformed},
		{"sb.node.bc.chat", append(slices.Clone(good), 0), DropMalformed},
		{"sb.node.bc.chat", badVersion, DropUnknownType},
		{"sb.node.bc.chat", badKind, DropUnknownType},
		{"sb.node.bc.chat", make([]byte, 5000), DropOversize},
		{"sb.node.sel.chat", []byte{1, 1}, DropMalformed},
		{"sb.node.req.chat", good, DropUnknownType},
		{"sb.node.req.chat", []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 5}, DropMalformed},
		{"sb.node.hb", []byte{1, 4, 1, 2, 3, 4, 5, 6, 7, 8, 0xff}, DropMalformed},
		{"sb.node.b.rep", []byte{1, 3, 1, 2, 3, 4, 5, 6, 7, 8, 1, 'x', 0, 0, 99}, DropUnknownType},
		{"sb.node.b.ping", []byte{1, 200, 1, 2, 3, 4, 5, 6, 7, 8}, DropUnknownType},
	}
	want := map[string]int{}
	for _, tc := range cases {
		if err := a.nc.Publish(tc.subj, tc.data); err != nil {
			t.Fatal(err)
		}
		want[tc.reason]++
	}
	// A broadcast for a namespace detached meanwhile (no subscription
	// brings one otherwise).
	b.a.bcCh <- &natsgo.Msg{Subject: "sb.node.bc.nowhere", Data: good}
	want[DropUnknownNamespace]++
	barrier(t, a, b)
	testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		for reason, k := range want {
			if got := b.met.get(b.met.dropped, reason); got != k {
				return fmt.Errorf("dropped %s: %d, want %d", reason, got, k)
			}
		}
		return nil
	})
	// A panicking Local is contained too.
	b.local.mu.Lock()
	b.local.panicky = true
	b.local.mu.Unlock()
	publish(t, a, &bus.Broadcast{Message: bus.Message{Data: event("boom")}})
	testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if b.met.get(b.met.dropped, DropPanic) != 1 {
			return errors.New("no panic counted")
		}
		return nil
	})
	b.local.mu.Lock()
	b.local.panicky = false
	b.local.mu.Unlock()
	socks, res, err := a.ns.FetchSockets(context.Background(), bus.Selector{})
	if err != nil || len(socks) != 1 || res.Answered != 1 {
		t.Fatalf("after hostile input: %v %+v %v", socks, res, err)
	}
	barrier(t, a, b)
}

// gatedLocal blocks deliveries until its gate opens.
type gatedLocal struct {
	*fakeLocal
	gate chan struct{}
}

func (l gatedLocal) Broadcast(b *bus.Broadcast) {
	<-l.gate
	l.fakeLocal.Broadcast(b)
}

// When Local is slower than the traffic, nats.go drops what the queue
// cannot hold, and the drops are counted.
func TestSlowConsumerCounted(t *testing.T) {
	srv := startServer(t)
	a := newNode(t, srv.ClientURL(), "a")
	b := newNode(t, srv.ClientURL(), "b", func(c *Config) { c.QueueLen = 4 })
	gate := make(chan struct{})
	if err := b.ns.Close(); err != nil {
		t.Fatal(err)
	}
	ns, err := b.a.Attach("/chat", gatedLocal{fakeLocal: b.local, gate: gate})
	if err != nil {
		t.Fatal(err)
	}
	b.ns = ns
	flush(t, b)
	for i := range 50 {
		publish(t, a, &bus.Broadcast{Message: bus.Message{Data: event(fmt.Sprint("m", i))}})
	}
	flush(t, a)
	testutil.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if got := b.met.get(b.met.dropped, DropSlowConsumer); got == 0 {
			return errors.New("no slow-consumer drop counted")
		}
		return nil
	})
	close(gate)
	barrier(t, a, b)
	testutil.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if got, dropped := len(b.local.broadcasts()), b.met.get(b.met.dropped, DropSlowConsumer); got+dropped != 51 {
			return fmt.Errorf("delivered %d + dropped %d, want 51", got, dropped)
		}
		return nil
	})
}
