package presencetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/presence"
)

// testCountsAcrossNodes: three nodes, counts and member lists agree everywhere.
func testCountsAcrossNodes(e *env) {
	nodes := []presence.Tracker{e.node("n0"), e.node("n1"), e.node("n2")}
	for i, n := range nodes {
		for j := range 10 {
			sid := fmt.Sprintf("s%d-%d", i, j)
			e.must(n.Connect("/chat", presence.Member{SID: sid, User: fmt.Sprintf("u%d", j%5)}))
			e.must(n.Join("/chat", sid, "lobby"))
			if i == 0 {
				e.must(n.Join("/chat", sid, "red"))
			}
		}
		e.must(n.Connect("/", presence.Member{SID: fmt.Sprintf("root%d", i)}))
	}
	e.sync(nodes...)
	for _, n := range nodes {
		e.wantCounts(n, "/chat", "", 30, 5)
		e.wantCounts(n, "/chat", "lobby", 30, 5)
		e.wantCounts(n, "/chat", "red", 10, 5)
		e.wantCounts(n, "/", "", 3, 0) // no users
		e.wantCounts(n, "/chat", "nope", 0, 0)
		e.wantCounts(n, "/nope", "", 0, 0)
		e.wantCounts(n, "/nope", "lobby", 0, 0)
	}
	members, first := e.all(nodes[1], presence.Query{NS: "/chat", Room: "lobby", Limit: presence.MaxLimit})
	if len(members) != 30 || first.Count != 30 || first.Users != 5 || first.Next != "" {
		e.Fatalf("lobby: %d members, page %+v", len(members), first)
	}
	for sid, m := range members {
		if want := "n" + sid[1:2]; m.Node != want || m.SID != sid || !strings.HasPrefix(m.User, "u") {
			e.Fatalf("member %+v: want node %s", m, want)
		}
	}
	// A leave and a disconnect are seen everywhere.
	e.must(nodes[2].Leave("/chat", "s2-0", "lobby"))
	e.must(nodes[2].Disconnect("/chat", "s2-1"))
	e.sync(nodes[2])
	for _, n := range nodes {
		e.wantCounts(n, "/chat", "", 29, 5)
		e.wantCounts(n, "/chat", "lobby", 28, 5)
	}
}

// testPaging: member lists in pages, for small and big rooms.
func testPaging(e *env) {
	n := e.node("n0")
	for _, size := range []int{0, 1, 50, 250} {
		room := fmt.Sprintf("room%d", size)
		e.connect(n, "/", "", sids(room+"-", size), room)
		e.sync(n)
		for _, limit := range []int{0, 1, 7, 100, presence.MaxLimit} {
			got, first := e.all(n, presence.Query{NS: "/", Room: room, Limit: limit})
			if len(got) != size || first.Count != int64(size) {
				e.Fatalf("room of %d, limit %d: %d members (count %d)", size, limit, len(got), first.Count)
			}
			if size > 0 && len(first.Members) == 0 {
				e.Fatalf("room of %d, limit %d: empty first page", size, limit)
			}
		}
	}
	got, _ := e.all(n, presence.Query{NS: "/", Limit: 33})
	if len(got) != 301 {
		e.Fatalf("namespace: %d members, want 301", len(got))
	}
	p, err := n.Query(e.ctx(), presence.Query{NS: "/", Room: "absent"})
	if err != nil || p.Count != 0 || p.Members == nil || len(p.Members) != 0 || p.Next != "" {
		e.Fatalf("unknown room: %+v, %v", p, err)
	}
	b, _ := json.Marshal(p)
	if string(b) != `{"count":0,"users":0,"members":[]}` {
		e.Fatalf("empty page JSON: %s", b)
	}
}

// testBadQueries: clear errors for bad limits, cursors and names.
func testBadQueries(e *env) {
	n := e.node("n0")
	e.connect(n, "/", "", sids("s", 3), "r")
	e.sync(n)
	ctx := e.ctx()
	_, err := n.Query(ctx, presence.Query{NS: "/", Room: "r", Limit: presence.MaxLimit + 1})
	wantErr(e, err, presence.ErrLimit, "limit over MaxLimit")
	_, err = n.Query(ctx, presence.Query{NS: "/", Room: "r", Limit: 1 << 40})
	wantErr(e, err, presence.ErrLimit, "huge limit")
	_, err = n.Query(ctx, presence.Query{NS: "/", Limit: -1})
	wantErr(e, err, presence.ErrInvalid, "negative limit")
	_, err = n.Query(ctx, presence.Query{Room: "r"})
	wantErr(e, err, presence.ErrInvalid, "no namespace")
	for _, cur := range []string{"garbage", "!!!", "eyJ4IjoxfQ", "cjE6eDox", "bTE6"} {
		_, err = n.Query(ctx, presence.Query{NS: "/", Room: "r", Cursor: cur})
		wantErr(e, err, presence.ErrBadCursor, "cursor "+cur)
	}
	_, err = n.Counts(ctx, "", "r")
	wantErr(e, err, presence.ErrInvalid, "Counts without namespace")
	_, err = n.SocketRooms(ctx, "/", "")
	wantErr(e, err, presence.ErrInvalid, "SocketRooms without sid")
}

// testBadWrites: the write methods refuse what cannot be tracked.
func testBadWrites(e *env) {
	n := e.node("n0")
	wantErr(e, n.Connect("", presence.Member{SID: "a"}), presence.ErrInvalid, "Connect without namespace")
	wantErr(e, n.Connect("/", presence.Member{}), presence.ErrInvalid, "Connect without sid")
	wantErr(e, n.Connect("/", presence.Member{SID: "a", Data: json.RawMessage(`{"x":`)}), presence.ErrInvalid, "Connect with bad data")
	wantErr(e, n.Join("/", "ghost", "r"), presence.ErrUnknownSocket, "Join of an unknown socket")
	wantErr(e, n.Leave("/", "ghost", "r"), presence.ErrUnknownSocket, "Leave of an unknown socket")
	wantErr(e, n.SetData("/", "ghost", nil), presence.ErrUnknownSocket, "SetData of an unknown socket")
	e.must(n.Disconnect("/", "ghost")) // a no-op
	e.must(n.Connect("/", presence.Member{SID: "a"}))
	wantErr(e, n.Join("/", "a", "ok", ""), presence.ErrInvalid, "Join of room \"\"")
	wantErr(e, n.Join("/other", "a", "r"), presence.ErrUnknownSocket, "Join in another namespace")
	wantErr(e, n.SetData("/", "a", json.RawMessage("{")), presence.ErrInvalid, "SetData with bad data")
	e.sync(n)
	e.wantCounts(n, "/", "", 1, 0)
	e.wantCounts(n, "/", "ok", 0, 0)
	e.must(n.Close(e.ctx()))
	wantErr(e, n.Connect("/", presence.Member{SID: "b"}), presence.ErrClosed, "Connect after Close")
	wantErr(e, n.Join("/", "a", "r"), presence.ErrClosed, "Join after Close")
	wantErr(e, n.Disconnect("/", "a"), presence.ErrClosed, "Disconnect after Close")
	wantErr(e, n.Close(e.ctx()), presence.ErrClosed, "second Close")
}

// testUserPresence: one user's sockets on several nodes; online and offline once.
func testUserPresence(e *env) {
	n1, n2 := e.node("n1"), e.node("n2")
	e.connect(n1, "/chat", "alice", []string{"a1"}, "r")
	e.connect(n1, "/chat", "bob", []string{"b1"}, "r")
	e.sync(n1)
	e.connect(n2, "/chat", "alice", []string{"a2"}, "other")
	e.sync(n2)
	e.wantCounts(n2, "/chat", "", 3, 2)
	e.wantCounts(n2, "/chat", "r", 2, 2)
	e.wantCounts(n1, "/chat", "other", 1, 1)

	got, first := e.all(n2, presence.Query{NS: "/chat", User: "alice"})
	if !equal(keys(got), []string{"a1", "a2"}) || first.Count != 2 || first.Users != 1 {
		e.Fatalf("alice: %v, page %+v", keys(got), first)
	}
	if got["a1"].Node != "n1" || got["a2"].Node != "n2" || got["a1"].User != "alice" {
		e.Fatalf("alice's members: %+v", got)
	}
	got, first = e.all(n1, presence.Query{NS: "/chat", Room: "r", User: "alice"})
	if !equal(keys(got), []string{"a1"}) || first.Count != 1 || first.Users != 1 {
		e.Fatalf("alice in r: %v, page %+v", keys(got), first)
	}
	got, first = e.all(n1, presence.Query{NS: "/chat", User: "nobody"})
	if len(got) != 0 || first.Count != 0 || first.Users != 0 {
		e.Fatalf("nobody: %v, page %+v", keys(got), first)
	}

	online := func(user string) func(Recorded) bool {
		return func(ev Recorded) bool { return ev.Action == presence.ActionOnline && ev.User == user }
	}
	offline := func(user string) func(Recorded) bool {
		return func(ev Recorded) bool { return ev.Action == presence.ActionOffline && ev.User == user }
	}
	e.must(e.exactly(1, online("alice"), "alice online"))
	e.must(e.exactly(1, online("bob"), "bob online"))
	if ev := e.rec.Find(online("alice"))[0]; ev.Node != "n1" || ev.By != "n1" || ev.NS != "/chat" || ev.Room != "" {
		e.Fatalf("alice online: %+v", ev)
	}
	e.must(n1.Disconnect("/chat", "a1"))
	e.sync(n1)
	e.must(e.exactly(0, offline("alice"), "alice offline"))
	e.wantCounts(n1, "/chat", "", 2, 2)
	e.must(n2.Disconnect("/chat", "a2"))
	e.sync(n2)
	e.must(e.exactly(1, offline("alice"), "alice offline"))
	if ev := e.rec.Find(offline("alice"))[0]; ev.Node != "n2" || ev.By != "n2" {
		e.Fatalf("alice offline: %+v", ev)
	}
	e.wantCounts(n1, "/chat", "", 1, 1)
	b, _ := json.Marshal(e.rec.Find(offline("alice"))[0].Event)
	if string(b) != `{"action":"offline","node":"n2","user":"alice"}` {
		e.Fatalf("offline JSON: %s", b)
	}
}

// testJoinLeaveEvents: each room change gives one event, from the node that made it.
func testJoinLeaveEvents(e *env) {
	n1, n2 := e.node("n1"), e.node("n2")
	e.must(n1.Connect("/chat", presence.Member{SID: "s1", User: "u", Data: json.RawMessage(`{"x": 1}`)}))
	e.must(n1.Join("/chat", "s1", "r1", "r2"))
	e.must(n1.Join("/chat", "s1", "r1")) // again: no event
	e.sync(n1)
	e.must(e.exactly(1, Is(presence.ActionJoin, "/chat", "r1", "s1"), "join r1"))
	e.must(e.exactly(1, Is(presence.ActionJoin, "/chat", "r2", "s1"), "join r2"))
	ev := e.rec.Find(Is(presence.ActionJoin, "/chat", "r1", "s1"))[0]
	b, _ := json.Marshal(ev.Event)
	if ev.By != "n1" || string(b) != `{"action":"join","sid":"s1","node":"n1","data":{"x":1},"user":"u"}` {
		e.Fatalf("join event by %s: %s", ev.By, b)
	}
	e.must(n1.Connect("/chat", presence.Member{SID: "s2"}))
	e.must(n1.Join("/chat", "s2", "r1"))
	e.sync(n1)
	b, _ = json.Marshal(e.rec.Find(Is(presence.ActionJoin, "/chat", "r1", "s2"))[0].Event)
	if string(b) != `{"action":"join","sid":"s2","node":"n1"}` {
		e.Fatalf("join event without data or user: %s", b)
	}

	e.must(n1.Leave("/chat", "s1", "r1"))
	e.must(n1.Leave("/chat", "s1", "never"))
	e.sync(n1)
	e.must(e.exactly(1, Is(presence.ActionLeave, "/chat", "r1", "s1"), "leave r1"))
	e.must(e.exactly(0, Is(presence.ActionLeave, "/chat", "never", ""), "leave never"))
	e.must(n1.Disconnect("/chat", "s1"))
	e.sync(n1)
	e.must(e.exactly(1, Is(presence.ActionLeave, "/chat", "r2", "s1"), "leave r2 on disconnect"))
	e.must(e.exactly(1, Is(presence.ActionOffline, "/chat", "", ""), "offline"))
	// n2 saw it all, emitted nothing.
	e.wantCounts(n2, "/chat", "r1", 1, 0)
	e.wantCounts(n2, "/chat", "r2", 0, 0)
	if evs := e.rec.Find(func(ev Recorded) bool { return ev.By == "n2" }); len(evs) != 0 {
		e.Fatalf("n2 emitted %+v", evs)
	}
}

// testSocketRoomsAndData: a socket's rooms, data updates and reconnects.
func testSocketRoomsAndData(e *env) {
	n1, n2 := e.node("n1"), e.node("n2")
	e.must(n1.Connect("/", presence.Member{SID: "s", User: "u", Data: json.RawMessage(`{"v":1}`)}))
	e.must(n1.Join("/", "s", "c", "a", "b"))
	e.sync(n1)
	rooms, err := n2.SocketRooms(e.ctx(), "/", "s")
	if err != nil || !equal(rooms, []string{"a", "b", "c"}) {
		e.Fatalf("SocketRooms = %v, %v", rooms, err)
	}
	rooms, err = n2.SocketRooms(e.ctx(), "/", "unknown")
	if err != nil || len(rooms) != 0 {
		e.Fatalf("SocketRooms(unknown) = %v, %v", rooms, err)
	}
	e.must(n1.SetData("/", "s", json.RawMessage(`{"v":2}`)))
	e.sync(n1)
	for _, room := range []string{"", "a", "c"} {
		got, _ := e.all(n2, presence.Query{NS: "/", Room: room})
		if string(got["s"].Data) != `{"v":2}` {
			e.Fatalf("room %q: data %s", room, got["s"].Data)
		}
	}
	got, _ := e.all(n2, presence.Query{NS: "/", User: "u"})
	if string(got["s"].Data) != `{"v":2}` {
		e.Fatalf("user's socket: data %s", got["s"].Data)
	}
	e.must(n1.SetData("/", "s", nil))
	e.sync(n1)
	got, _ = e.all(n2, presence.Query{NS: "/", Room: "a"})
	if got["s"].Data != nil {
		e.Fatalf("data after SetData(nil): %s", got["s"].Data)
	}
	// Connecting again with another user moves the socket to that user.
	e.must(n1.Connect("/", presence.Member{SID: "s", User: "w"}))
	e.sync(n1)
	e.wantCounts(n2, "/", "a", 1, 1)
	got, _ = e.all(n2, presence.Query{NS: "/", User: "w", Room: "a"})
	if len(got) != 1 {
		e.Fatalf("socket not moved to user w: %v", keys(got))
	}
	e.wantCounts(n2, "/", "", 1, 1)
}

// testTakeover: a socket id connected on another node (recovered there)
// belongs to that node; the first node's later writes for it are ignored.
func testTakeover(e *env) {
	n1, n2 := e.node("n1"), e.node("n2")
	e.connect(n1, "/", "u", []string{"s"}, "r", "old")
	e.sync(n1)
	e.connect(n2, "/", "u", []string{"s"}, "r")
	e.sync(n2)
	e.wantCounts(n1, "/", "r", 1, 1)
	e.wantCounts(n1, "/", "old", 0, 0)
	got, _ := e.all(n1, presence.Query{NS: "/", Room: "r"})
	if got["s"].Node != "n2" {
		e.Fatalf("member %+v, want node n2", got["s"])
	}
	e.must(n1.Disconnect("/", "s"))
	e.sync(n1)
	e.wantCounts(n2, "/", "r", 1, 1)
	e.wantCounts(n2, "/", "", 1, 1)
}

// crash starts node id with sockets, then stops it without cleanup.
func (e *env) crash(id, prefix string, n int) {
	e.Helper()
	node := e.node(id)
	e.connect(node, "/", prefix+"-user", sids(prefix, n), "room")
	e.sync(node)
	a, ok := node.(Abandoner)
	if !ok {
		e.Fatalf("%T has no Abandon method", node)
	}
	a.Abandon()
}

// testCrashedNode: a dead node's members go within TTL + a heartbeat, and
// their leaves are emitted once, by one of the two survivors.
func testCrashedNode(e *env) {
	a, b := e.node("a"), e.node("b")
	e.connect(a, "/", "", sids("a", 5), "room")
	e.connect(b, "/", "", sids("b", 5), "room")
	e.sync(a, b)
	e.crash("c", "c", 20)
	start := time.Now()
	e.wantCounts(a, "/", "room", 30, 1)
	testutil.CheckFor(e, TTL+Heartbeat+time.Second, 10*time.Millisecond, func() error {
		if c := e.counts(a, "/", "room"); c.Members != 10 || c.Users != 0 {
			return fmt.Errorf("room counts %+v", c)
		}
		return e.exactly(20, Is(presence.ActionLeave, "/", "room", ""), "leave")
	})
	e.Logf("dead node's members gone %v after the crash (TTL %v, heartbeat %v)", time.Since(start).Round(time.Millisecond), TTL, Heartbeat)
	e.wantCounts(b, "/", "", 10, 0)
	Consistently(e, 3*Heartbeat, 20*time.Millisecond, func() error {
		if err := e.exactly(20, Is(presence.ActionLeave, "/", "room", ""), "leave"); err != nil {
			return err
		}
		return e.exactly(1, Is(presence.ActionOffline, "/", "", ""), "offline")
	})
	for _, ev := range e.rec.Find(Is(presence.ActionLeave, "/", "room", "")) {
		if ev.Node != "c" || (ev.By != "a" && ev.By != "b") || ev.User != "c-user" {
			e.Fatalf("leave event %+v", ev)
		}
	}
	// The survivors keep working.
	e.connect(a, "/", "", []string{"late"}, "room")
	e.sync(a)
	e.wantCounts(b, "/", "room", 11, 0)
}

// testRestartSameID: a node restarted with its id never shows its previous
// life's members: they go when it starts, not a TTL later.
func testRestartSameID(e *env) {
	other := e.node("other")
	e.crash("x", "old", 10)
	e.wantCounts(other, "/", "room", 10, 1)
	x := e.node("x")
	e.connect(x, "/", "", []string{"new"}, "room")
	e.sync(x)
	e.wantCounts(other, "/", "room", 1, 0)
	e.wantCounts(x, "/", "", 1, 0)
	e.must(e.exactly(10, Is(presence.ActionLeave, "/", "room", ""), "leave"))
	for _, ev := range e.rec.Find(Is(presence.ActionLeave, "/", "room", "")) {
		if ev.By != "x" || !strings.HasPrefix(ev.SID, "old") {
			e.Fatalf("leave event %+v", ev)
		}
	}
	Consistently(e, TTL+2*Heartbeat, 50*time.Millisecond, func() error {
		if c := e.counts(other, "/", "room"); c.Members != 1 {
			return fmt.Errorf("room counts %+v", c)
		}
		return e.exactly(10, Is(presence.ActionLeave, "/", "room", ""), "leave")
	})
}

// testGracefulClose: Close removes the node's members before it returns.
func testGracefulClose(e *env) {
	a, b := e.node("a"), e.node("b")
	e.connect(a, "/", "", sids("a", 10), "room", "other")
	e.connect(b, "/", "", sids("b", 2), "room")
	e.sync(a, b)
	e.connect(a, "/", "", []string{"unsynced"}, "room") // written or not, gone after Close
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.must(a.Close(ctx))
	e.wantCounts(b, "/", "room", 2, 0)
	e.wantCounts(b, "/", "other", 0, 0)
	e.wantCounts(b, "/", "", 2, 0)
	leaves := e.rec.Find(Is(presence.ActionLeave, "/", "other", ""))
	if len(leaves) != 10 {
		e.Fatalf("%d leave events from other, want 10", len(leaves))
	}
	_, err := a.Counts(ctx, "/", "room")
	wantErr(e, err, presence.ErrClosed, "Counts after Close")
}
