package edge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/bus/memory"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// cluster starts n servers linked by one in-memory hub.
func cluster(t *testing.T, n int) ([]*Server, []*memory.Adapter) {
	t.Helper()
	hub := memory.NewHub()
	var srvs []*Server
	var ads []*memory.Adapter
	for i := range n {
		a, err := hub.Join(string(rune('A' + i)))
		if err != nil {
			t.Fatal(err)
		}
		ads = append(ads, a)
		srvs = append(srvs, New(Config{
			Adapter: a, RequestTimeout: 300 * time.Millisecond,
			PingInterval: time.Hour, PingTimeout: time.Hour,
		}))
	}
	t.Cleanup(func() {
		for i, srv := range srvs {
			_ = srv.Shutdown(t.Context())
			_ = ads[i].Close()
		}
		testutil.NoLeaks(t, "switchboard/edge/engine.(*Session)")
	})
	return srvs, ads
}

func TestClusterBroadcastReachesEveryNodeOnce(t *testing.T) {
	srvs, _ := cluster(t, 3)
	var members []*fakeClient
	for _, srv := range srvs {
		c := dial(t, srv)
		sid := c.connect("/")
		srv.Of("/").Socket(sid).Join("r")
		members = append(members, c)
	}
	outsider := dial(t, srvs[1])
	outsider.connect("/")

	if err := srvs[0].Of("/").To("r").Emit("hi", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range members {
		c.expect(`2["hi",1]`)
		c.quiet()
	}
	outsider.quiet()
}

func TestClusterExceptAndOneSocket(t *testing.T) {
	srvs, _ := cluster(t, 2)
	a := dial(t, srvs[0])
	a.connect("/")
	b1 := dial(t, srvs[1])
	sid1 := b1.connect("/")
	b2 := dial(t, srvs[1])
	sid2 := b2.connect("/")
	srvs[1].Of("/").Socket(sid2).Join("muted")

	if err := srvs[0].Of("/").Except("muted").Emit("all"); err != nil {
		t.Fatal(err)
	}
	a.expect(`2["all"]`)
	b1.expect(`2["all"]`)
	b2.quiet()

	// One socket of another node, by its id room.
	if err := srvs[0].Of("/").To(sid1).Emit("you", []byte{1}); err != nil {
		t.Fatal(err)
	}
	b1.expect(`51-["you",{"_placeholder":true,"num":0}]`)
	b1.expect("<bin:01>")
	a.quiet()
	b2.quiet()
}

func TestClusterEmitWithAck(t *testing.T) {
	srvs, _ := cluster(t, 3)
	var clients []*fakeClient
	for _, srv := range srvs {
		c := dial(t, srv)
		c.connect("/")
		clients = append(clients, c)
	}
	type out struct {
		res AckResult
		err error
		n   int
	}
	done := make(chan out, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n := 0
		res, err := srvs[0].Of("/").To().EmitWithAckEach(ctx, func(*Socket, Args) { n++ }, "q")
		done <- out{res, err, n}
	}()
	for i, c := range clients {
		got := c.next() // 2<id>["q"]
		id := strings.TrimSuffix(strings.TrimPrefix(got, "2"), `["q"]`)
		if id == got {
			t.Fatalf("client %d got %q", i, got)
		}
		c.send("3" + id + `["a"]`)
	}
	o := <-done
	if o.err != nil || o.res.Sent != 3 || o.res.Answered != 3 || o.n != 3 || len(o.res.Missing) != 0 {
		t.Fatalf("EmitWithAckEach = %+v, %v (fn called %d times)", o.res, o.err, o.n)
	}
}

func TestClusterRequestsAndPartialResults(t *testing.T) {
	srvs, ads := cluster(t, 3)
	sids := make([]string, 3)
	for i, srv := range srvs {
		c := dial(t, srv)
		sids[i] = c.connect("/")
	}
	ctx := t.Context()
	op := srvs[0].Of("/").To()

	socks, res, err := op.FetchSockets(ctx)
	if err != nil || len(socks) != 3 || res.Answered != 2 || len(res.Missing) != 0 {
		t.Fatalf("FetchSockets = %d sockets, %+v, %v", len(socks), res, err)
	}
	nodes := map[string]string{}
	for _, s := range socks {
		nodes[s.ID] = s.Node
	}
	for i, sid := range sids {
		if want := string(rune('A' + i)); nodes[sid] != want {
			t.Errorf("socket %s reported on node %q, want %q", sid, nodes[sid], want)
		}
	}

	matched, res, err := op.SocketsJoin(ctx, "all-of-us")
	if err != nil || matched != 3 || len(res.Missing) != 0 {
		t.Fatalf("SocketsJoin = %d, %+v, %v", matched, res, err)
	}
	rooms, _, err := srvs[2].Of("/").AllRooms(ctx)
	if err != nil || !slices.Contains(rooms, "all-of-us") || len(rooms) != 4 {
		t.Fatalf("AllRooms = %v, %v", rooms, err)
	}

	ads[2].SetDeaf(true)
	socks, res, err = op.FetchSockets(ctx)
	if err != nil || len(socks) != 2 || !slices.Equal(res.Missing, []string{"C"}) {
		t.Fatalf("FetchSockets with C deaf = %d sockets, %+v, %v", len(socks), res, err)
	}
	matched, res, err = srvs[0].Of("/").To("all-of-us").SocketsLeave(ctx, "all-of-us")
	if err != nil || matched != 2 || !slices.Equal(res.Missing, []string{"C"}) {
		t.Fatalf("SocketsLeave with C deaf = %d, %+v, %v", matched, res, err)
	}
	ads[2].SetDeaf(false)

	matched, _, err = srvs[1].Of("/").To(sids[2]).DisconnectSockets(ctx, false)
	if err != nil || matched != 1 {
		t.Fatalf("DisconnectSockets = %d, %v", matched, err)
	}
	testutil.CheckFor(t, 2*time.Second, time.Millisecond, func() error {
		if n := srvs[2].Of("/").Len(); n != 0 {
			return fmt.Errorf("%d sockets left on C", n)
		}
		return nil
	})
}

func TestClusterServerSideEmit(t *testing.T) {
	srvs, _ := cluster(t, 3)
	for i, srv := range srvs[1:] {
		srv.Of("/").OnServerSide("ping", func(args Args, ack func(...any) error) {
			if ack != nil {
				_ = ack("pong", i, args.String(0))
			}
		})
	}
	answers, res, err := srvs[0].Of("/").ServerSideEmitWithAck(t.Context(), "ping", "x")
	if err != nil || len(answers) != 2 || len(res.Missing) != 0 {
		t.Fatalf("ServerSideEmitWithAck = %v, %+v, %v", answers, res, err)
	}
	for _, a := range answers {
		if a.String(0) != "pong" || a.String(2) != "x" {
			t.Errorf("answer %s", a.JSON())
		}
	}
	// A node without a handler does not answer: it is reported missing.
	_, res, err = srvs[1].Of("/").ServerSideEmitWithAck(t.Context(), "ping")
	if err != nil || len(res.Missing) != 1 || res.Missing[0] != "A" {
		t.Fatalf("ServerSideEmitWithAck from B = %+v, %v (A has no handler)", res, err)
	}
}

// taggedAdapter is a memory adapter that asks for tagged socket ids.
type taggedAdapter struct{ *memory.Adapter }

func (taggedAdapter) SocketIDTag() [3]byte { return [3]byte{0xfb, 0xff, 0xbf} } // "-_-_"

func TestSocketIDsCarryTheAdapterTag(t *testing.T) {
	a, err := memory.NewHub().Join("T")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, Config{Adapter: taggedAdapter{a}})
	seen := map[string]bool{}
	for range 3 {
		sid := dial(t, srv).connect("/")
		if len(sid) != 20 || !strings.HasPrefix(sid, "-_-_") || seen[sid] {
			t.Fatalf("socket id %q: want 20 characters starting with the tag, unique", sid)
		}
		seen[sid] = true
	}
}

// failingAdapter refuses every namespace.
type failingAdapter struct{ *memory.Adapter }

func (failingAdapter) Attach(string, bus.Local) (bus.Namespace, error) {
	return nil, bus.ErrUnavailable
}

// A namespace the adapter refused serves this node alone, and its room
// changes are not queued for an adapter that will never take them.
func TestClusterAttachFailure(t *testing.T) {
	a, err := memory.NewHub().Join("F")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, Config{Adapter: failingAdapter{a}})
	c := dial(t, srv)
	sid := c.connect("/")
	s := srv.Of("/").Socket(sid)
	for i := range 100 {
		s.Join(fmt.Sprint("r", i))
		s.Leave(fmt.Sprint("r", i))
	}
	in := &srv.Of("/").interest
	in.mu.Lock()
	queued := len(in.queue)
	in.mu.Unlock()
	if queued != 0 {
		t.Fatalf("%d room changes queued for no adapter", queued)
	}
	if err := srv.Of("/").To(sid).Emit("still", 1); err != nil {
		t.Fatalf("local emit: %v", err)
	}
	c.expect(`2["still",1]`)
}

// Local operators act on this node's sockets only.
func TestClusterLocal(t *testing.T) {
	srvs, _ := cluster(t, 2)
	a := dial(t, srvs[0])
	sidA := a.connect("/")
	b := dial(t, srvs[1])
	b.connect("/")
	srvs[0].Of("/").Socket(sidA).Join("r")

	if err := srvs[0].Of("/").Local().Emit("mine"); err != nil {
		t.Fatal(err)
	}
	a.expect(`2["mine"]`)
	b.quiet()
	if err := srvs[1].Of("/").Local().To("r").Emit("none"); err != nil {
		t.Fatal(err)
	}
	a.quiet()
	// The same operator without Local reaches the other node.
	if err := srvs[1].Of("/").To("r").Emit("all"); err != nil {
		t.Fatal(err)
	}
	a.expect(`2["all"]`)

	socks, res, err := srvs[1].Of("/").Local().FetchSockets(t.Context())
	if err != nil || len(socks) != 1 || len(res.Missing) != 0 {
		t.Fatalf("local FetchSockets = %d sockets, %+v, %v; want this node's one", len(socks), res, err)
	}
	socks, _, err = srvs[1].Of("/").To("r").FetchSockets(t.Context())
	if err != nil || len(socks) != 1 || socks[0].ID != sidA {
		t.Fatalf("cluster FetchSockets of r = %+v, %v", socks, err)
	}
	n, _, err := srvs[1].Of("/").Local().To("r").SocketsJoin(t.Context(), "x")
	if err != nil || n != 0 || slices.Contains(srvs[0].Of("/").Socket(sidA).Rooms(), "x") {
		t.Fatalf("local SocketsJoin on the other node = %d, %v; the remote socket must not join", n, err)
	}
}
