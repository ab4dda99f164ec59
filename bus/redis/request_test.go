package redis

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// threeNodes returns A's namespace "/" and the Locals of B and C, which have sockets.
func threeNodes(t *testing.T) (*cluster, bus.Namespace, *fakeLocal, *fakeLocal, *fakeLocal) {
	c := newCluster(t)
	a, b, d := c.node("A"), c.node("B"), c.node("C")
	la := newLocal("sa")
	lb := newLocal("sb1", "r1")
	lb.sockets = []bus.SocketInfo{{ID: "sb1", Rooms: []string{"sb1", "r1"}, Data: json.RawMessage(`{"n":1}`), User: "alice",
		Handshake: json.RawMessage(`{"address":"::1","auth":{}}`)}}
	ld := newLocal("sc1", "r2")
	ld.sockets = []bus.SocketInfo{{ID: "sc1", Rooms: []string{"sc1", "r2"}}}
	ns := attach(t, a, "/", la)
	attach(t, b, "/", lb)
	attach(t, d, "/", ld)
	return c, ns, la, lb, ld
}

func checkAll(t *testing.T, what string, res bus.Result, err error, answered int) {
	t.Helper()
	if err != nil || res.Answered != answered || res.Missing == nil || len(res.Missing) != 0 {
		t.Fatalf("%s: %+v, %v; want %d answers, none missing", what, res, err, answered)
	}
}

func TestRequests(t *testing.T) {
	_, ns, la, lb, ld := threeNodes(t)
	ctx := ctxT(t, 20*time.Second)

	start := time.Now()
	socks, res, err := ns.FetchSockets(ctx, bus.Selector{})
	checkAll(t, "FetchSockets", res, err, 2)
	if time.Since(start) > time.Second {
		t.Errorf("FetchSockets took %v", time.Since(start))
	}
	slices.SortFunc(socks, func(x, y bus.SocketInfo) int { return cmpStr(x.ID, y.ID) })
	if len(socks) != 2 || socks[0].ID != "sb1" || socks[0].Node != "B" || socks[0].User != "alice" ||
		!jsonEq(socks[0].Data, json.RawMessage(`{"n":1}`)) || !jsonEq(socks[0].Handshake, json.RawMessage(`{"address":"::1","auth":{}}`)) ||
		!slices.Equal(socks[0].Rooms, []string{"sb1", "r1"}) || socks[1].ID != "sc1" || socks[1].Node != "C" || string(socks[1].Data) != "null" {
		t.Errorf("FetchSockets: %+v", socks)
	}
	socks, res, err = ns.FetchSockets(ctx, bus.Selector{Rooms: []string{"r2"}})
	checkAll(t, "FetchSockets r2", res, err, 2)
	if len(socks) != 1 || socks[0].ID != "sc1" {
		t.Errorf("FetchSockets(r2): %+v", socks)
	}

	rooms, res, err := ns.AllRooms(ctx)
	checkAll(t, "AllRooms", res, err, 2)
	if !slices.Equal(rooms, []string{"r1", "r2", "sb1", "sc1"}) {
		t.Errorf("AllRooms: %v", rooms)
	}

	lb.mu.Lock()
	lb.matched = 1
	lb.mu.Unlock()
	ld.mu.Lock()
	ld.matched = 2
	ld.mu.Unlock()
	sel := bus.Selector{Rooms: []string{"r1"}, Except: []string{"x"}}
	n, res, err := ns.Join(ctx, sel, []string{"r9"})
	checkAll(t, "Join", res, err, 2)
	if n != 3 {
		t.Errorf("Join matched %d, want 3", n)
	}
	n, res, err = ns.Leave(ctx, sel, []string{"r9"})
	checkAll(t, "Leave", res, err, 2)
	if n != 3 {
		t.Errorf("Leave matched %d, want 3", n)
	}
	n, res, err = ns.Disconnect(ctx, sel, true)
	checkAll(t, "Disconnect", res, err, 2)
	if n != 3 {
		t.Errorf("Disconnect matched %d, want 3", n)
	}
	for _, l := range []*fakeLocal{lb, ld} {
		s := l.snapshot()
		want := roomCall{Sel: sel, Rooms: []string{"r9"}}
		if len(s.joins) != 1 || !sameRoomCall(s.joins[0], want) || len(s.leaves) != 1 || !sameRoomCall(s.leaves[0], want) ||
			len(s.discs) != 1 || !s.discs[0].Close || !slices.Equal(s.discs[0].Sel.Rooms, sel.Rooms) {
			t.Errorf("room operations seen: %+v %+v %+v", s.joins, s.leaves, s.discs)
		}
	}
	if s := la.snapshot(); len(s.joins)+len(s.leaves)+len(s.discs) != 0 {
		t.Errorf("the requesting node applied its own echo: %+v", s)
	}

	// Server-side emit, without and with answers.
	if _, err := ns.ServerSideEmit(ctx, bus.Message{Data: json.RawMessage(`["hello",42]`)}, nil); err != nil {
		t.Fatal(err)
	}
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if len(lb.snapshot().emits) == 0 || len(ld.snapshot().emits) == 0 {
			return fmt.Errorf("emit not delivered")
		}
		return nil
	})
	if string(lb.snapshot().emits[0].Data) != `["hello",42]` || len(la.snapshot().emits) != 0 {
		t.Errorf("emits: %+v / own %+v", lb.snapshot().emits, la.snapshot().emits)
	}
	lb.mu.Lock()
	lb.emitReply = &bus.Message{Data: json.RawMessage(`["pong-b","ignored"]`)}
	lb.mu.Unlock()
	ld.mu.Lock()
	ld.emitReply = &bus.Message{Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}}
	ld.mu.Unlock()
	var replies []bus.Message
	res, err = ns.ServerSideEmit(ctx, bus.Message{Data: json.RawMessage(`["ping"]`)}, func(m bus.Message) { replies = append(replies, m) })
	checkAll(t, "ServerSideEmit with replies", res, err, 2)
	slices.SortFunc(replies, func(x, y bus.Message) int { return cmpStr(string(x.Data), string(y.Data)) })
	if len(replies) != 2 || string(replies[0].Data) != `["pong-b"]` || string(replies[1].Data) != `[{"_placeholder":true,"num":0}]` ||
		len(replies[1].Attachments) != 1 || replies[1].Attachments[0][0] != 7 {
		t.Errorf("replies: %+v", replies)
	}
}

func TestPublishWithAck(t *testing.T) {
	_, ns, _, lb, ld := threeNodes(t)
	lb.mu.Lock()
	lb.ackClients = 2
	lb.ackValue = func(i int) bus.Message {
		return bus.Message{Data: json.RawMessage(`["answer-` + strconv.Itoa(i) + `","dropped"]`)}
	}
	lb.mu.Unlock()
	ctx := ctxT(t, 10*time.Second)
	var mu sync.Mutex
	var counts []int
	var acks []string
	start := time.Now()
	res, err := ns.PublishWithAck(ctx, &bus.Broadcast{
		Selector: bus.Selector{Rooms: []string{"r1"}},
		Message:  bus.Message{Data: json.RawMessage(`["ask","q"]`)},
	}, 3*time.Second, func(n int) {
		mu.Lock()
		counts = append(counts, n)
		mu.Unlock()
	}, func(m bus.Message) {
		mu.Lock()
		acks = append(acks, string(m.Data))
		mu.Unlock()
	})
	checkAll(t, "PublishWithAck", res, err, 2)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("PublishWithAck took %v, want at once when all answered", d)
	}
	slices.Sort(counts)
	slices.Sort(acks)
	if !slices.Equal(counts, []int{0, 2}) || !slices.Equal(acks, []string{`["answer-0"]`, `["answer-1"]`}) {
		t.Errorf("counts %v acks %v", counts, acks)
	}
	w := lb.snapshot().withAck
	if len(w) != 1 || string(w[0].Data) != `["ask","q"]` || !slices.Equal(w[0].Rooms, []string{"r1"}) || len(ld.snapshot().withAck) != 1 {
		t.Errorf("BroadcastWithAck calls: %+v", w)
	}

	// A client that never answers: the call ends at the timeout, every node counted.
	lb.mu.Lock()
	lb.ackValue = nil
	lb.mu.Unlock()
	start = time.Now()
	res, err = ns.PublishWithAck(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["ask2"]`)}},
		300*time.Millisecond, func(int) {}, func(bus.Message) {})
	checkAll(t, "PublishWithAck without acks", res, err, 2)
	if d := time.Since(start); d < 300*time.Millisecond || d > 2500*time.Millisecond {
		t.Errorf("PublishWithAck without acks took %v", d)
	}
}

func sameRoomCall(x, y roomCall) bool {
	return slices.Equal(x.Sel.Rooms, y.Sel.Rooms) && slices.Equal(x.Sel.Except, y.Sel.Except) && slices.Equal(x.Rooms, y.Rooms)
}

func cmpStr(x, y string) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
