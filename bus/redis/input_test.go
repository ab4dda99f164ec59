package redis

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/bus/redis/wire"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// Messages of @socket.io/redis-emitter 5.1 (captured): broadcasts with uid "emitter", and
// requests without uid, which every node applies.
func TestEmitterMessages(t *testing.T) {
	c := newCluster(t)
	a := c.node("A")
	l := newLocal("room1")
	attach(t, a, "/", l)
	lc := newLocal()
	attach(t, a, "/custom", lc)
	publish := func(channel, msg string) {
		t.Helper()
		if out, err := c.srv.Do("PUBLISH", channel, msg); err != nil || !strings.HasPrefix(out, ":") {
			t.Fatalf("PUBLISH: %q %v", out, err)
		}
	}
	unhex := func(s string) string {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	publish(c.key+"#/#", unhex("93a7656d697474657283a47479706502a46461746193ac66726f6d2d656d6974746572a26531c401ffa36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490"))
	got := l.waitBroadcast(t, `["from-emitter","e1",{"_placeholder":true,"num":0}]`)
	if len(got.Attachments) != 1 || got.Attachments[0][0] != 0xff {
		t.Errorf("emitter binary: %+v", got)
	}
	publish(c.key+"#/#room1#", unhex("93a7656d697474657283a47479706502a46461746192b166726f6d2d656d69747465722d726f6f6d02a36e7370a12f83a5726f6f6d7391a5726f6f6d31a5666c61677381a8766f6c6174696c65c3a665786365707491a66e6f626f6479"))
	got = l.waitBroadcast(t, `["from-emitter-room",2]`)
	if !slices.Equal(got.Rooms, []string{"room1"}) || !slices.Equal(got.Except, []string{"nobody"}) || !got.Volatile {
		t.Errorf("emitter room broadcast: %+v", got)
	}
	publish(c.key+"#/custom#", unhex("93a7656d697474657283a47479706502a46461746192b066726f6d2d656d69747465722d6e737003a36e7370a72f637573746f6d83a5726f6f6d7390a5666c61677380a665786365707490"))
	lc.waitBroadcast(t, `["from-emitter-nsp",3]`)

	req := wire.RequestChannel(c.key, "/")
	publish(req, `{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room7"]}`)
	publish(req, `{"type":3,"opts":{"rooms":["room1"],"except":[]},"rooms":["room7"]}`)
	publish(req, `{"type":4,"opts":{"rooms":["room1"],"except":[]},"close":true}`)
	publish(req, `{"uid":"emitter","type":6,"data":["hello-servers","from-emitter"]}`)
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		s := l.snapshot()
		if len(s.joins) != 1 || len(s.leaves) != 1 || len(s.discs) != 1 || len(s.emits) != 1 {
			return fmt.Errorf("emitter requests applied: %+v", s)
		}
		if !sameRoomCall(s.joins[0], roomCall{Sel: bus.Selector{Rooms: []string{"room1"}, Except: []string{}}, Rooms: []string{"room7"}}) ||
			!s.discs[0].Close || string(s.emits[0].Data) != `["hello-servers","from-emitter"]` {
			return fmt.Errorf("emitter requests: %+v", s)
		}
		return nil
	})
	if len(lc.snapshot().joins) != 0 {
		t.Error("a request of / reached /custom")
	}
}

// Garbage, oversized, unknown and misdirected messages are dropped with a metric; none reaches
// Local, and the adapter goes on.
func TestMalformedInputDropped(t *testing.T) {
	c := newCluster(t)
	m := newMetrics()
	cfg := c.config("A")
	cfg.Metrics = m
	cfg.MaxMessageBytes = 1024
	a := c.nodeWith(cfg)
	l := newLocal("room1")
	l.panicOn = `["boom"]`
	attach(t, a, "/", l)
	other := c.node("B")
	nsB := attach(t, other, "/", newLocal())
	ctx := ctxT(t, 10*time.Second)

	bc, req, resp := wire.BroadcastChannel(c.key, "/"), wire.RequestChannel(c.key, "/"), wire.ResponseChannel(c.key, "/")
	otherNsp, err := wire.EncodeBroadcast("X", "/other", json.RawMessage(`["x"]`), nil, nil, wire.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	otherReq, err := wire.EncodeRequest(&wire.Request{Type: wire.BroadcastRequest, UID: "X", RequestID: "r1",
		Packet: &wire.Packet{NSP: "/other", Data: json.RawMessage(`["x"]`)}, Opts: &wire.Opts{}})
	if err != nil {
		t.Fatal(err)
	}
	// [uid, {type: 3 (ACK), data: ["x"], nsp: "/"}, {rooms, except, flags}]
	ackPacket := "\x93\xa1X\x83\xa4type\x03\xa4data\x91\xa1x\xa3nsp\xa1/\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80"
	huge := "\x93" + strings.Repeat("x", 2000)
	for _, p := range []struct{ channel, msg, reason string }{
		{bc, "\xc1garbage", ReasonMalformed},
		{bc, "\x01", ReasonMalformed},
		{bc, "", ReasonMalformed},
		{c.key + "#/#room1#", "\x93\xa1X", ReasonMalformed},
		{c.key + "#/#no-closing-hash", "\x93", ReasonMalformed},
		{c.key + "#/#nobody-here#", "\xc1ignored unread", ""},
		{bc, string(otherNsp), ReasonUnknownNamespace},
		{bc, ackPacket, ReasonUnknownType},
		{bc, huge, ReasonTooLarge},
		{req, "{bad json", ReasonMalformed},
		{req, `{"type":42}`, ReasonUnknownType},
		{req, `{"type":5}`, ReasonMalformed},
		{req, `{"type":1}`, ReasonMalformed},
		{req, `{"type":2,"sid":"x"}`, ReasonMalformed},
		{req, string(otherReq), ReasonUnknownNamespace},
		{req, `{"type":1,"requestId":"` + strings.Repeat("x", 2000) + `"}`, ReasonTooLarge},
		{bc, "\x93\xa1X\x83\xa4type\x02\xa4data\x91\xa4boom\xa3nsp\xa1/\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80", ReasonPanic},
		{resp, "garbage nobody waits for", ""},
	} {
		if _, err := c.srv.Do("PUBLISH", p.channel, p.msg); err != nil {
			t.Fatal(err)
		}
	}
	// A fence, then the counts.
	if err := nsB.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["fence"]`)}}); err != nil {
		t.Fatal(err)
	}
	l.waitBroadcast(t, `["fence"]`)
	want := map[string]int{ReasonMalformed: 9, ReasonUnknownNamespace: 2, ReasonUnknownType: 2, ReasonTooLarge: 2, ReasonPanic: 1}
	for reason, n := range want {
		if got := m.drops(reason); got != n {
			t.Errorf("dropped %q: %d, want %d", reason, got, n)
		}
	}
	s := l.snapshot()
	if len(s.broadcasts) != 1 || len(s.joins)+len(s.leaves)+len(s.discs)+len(s.emits)+len(s.withAck) != 0 {
		t.Errorf("Local got %+v", s)
	}
	if !strings.Contains(c.log.String(), "message dropped") || !strings.Contains(c.log.String(), "panic in a callback") {
		t.Errorf("no log of the drops:\n%s", c.log.String())
	}
	// Still answering.
	rooms, res, err := nsB.AllRooms(ctx)
	if err != nil || res.Answered != 1 || !slices.Equal(rooms, []string{"room1"}) {
		t.Errorf("AllRooms after the garbage: %v %+v %v", rooms, res, err)
	}
}

func TestLegacyRequests(t *testing.T) {
	c := newCluster(t)
	a := c.node("A")
	l := newLocal("s1")
	l.sockets = []bus.SocketInfo{{ID: "s1", Rooms: []string{"s1", "r"}}}
	l.matched = 1
	attach(t, a, "/", l)
	answers := watch(t, c, wire.ResponseChannel(c.key, "/"))
	// SOCKETS (0), which old peers send: answered with socket ids.
	sockets, err := wire.EncodeRequest(&wire.Request{Type: wire.Sockets, RequestID: "legacy1", Rooms: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct{ req, answer string }{
		{string(sockets), `{"requestId":"legacy1","uid":"A","sockets":["s1"]}`},
		{`{"requestId":"legacy2","type":2,"sid":"s1","room":"r5"}`, `{"requestId":"legacy2"}`},
		{`{"requestId":"legacy3","type":4,"sid":"s1","close":true}`, `{"requestId":"legacy3"}`},
	} {
		if _, err := c.srv.Do("PUBLISH", wire.RequestChannel(c.key, "/"), x.req); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-answers:
			if got != x.answer {
				t.Errorf("answer to %s: %s, want %s", x.req, got, x.answer)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no answer to %s", x.req)
		}
	}
	s := l.snapshot()
	if len(s.joins) != 1 || !sameRoomCall(s.joins[0], roomCall{Sel: bus.Selector{Rooms: []string{"s1"}}, Rooms: []string{"r5"}}) ||
		len(s.discs) != 1 || !s.discs[0].Close {
		t.Errorf("legacy join and disconnect: %+v %+v", s.joins, s.discs)
	}
}

// FuzzHandlers feeds arbitrary messages to every receiving path: nothing may panic, whatever
// reaches Local must be well-formed.
func FuzzHandlers(f *testing.F) {
	for _, s := range []string{
		"\x93\xa1X\x83\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa1/\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80",
		`{"type":5,"uid":"x","requestId":"r","opts":{"rooms":["a"],"except":[]}}`,
		`{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room7"]}`,
		`{"type":6,"uid":"x","requestId":"r","data":["ev",1]}`,
		`{"type":0,"requestId":"r","rooms":["a"]}`,
		`{"requestId":"aaaaaaaaaaaa","uid":"B","sockets":[{"id":"s","rooms":[]}]}`,
		"\x85\xa3uid\xa1X\xa9requestId\xa1r\xa4type\x07\xa6packet\x83\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa1/\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x81\xa7timeout\x01",
	} {
		f.Add(s)
	}
	m := newMetrics()
	a := offlineAdapter("A", m)
	a.out = newPublisher(a)
	a.out.max = 1 << 16
	l := newLocal("room1")
	l.sockets = []bus.SocketInfo{{ID: "s1", Rooms: []string{"s1", "room1"}}}
	l.emitReply = &bus.Message{Data: json.RawMessage(`["ok"]`)}
	n := newNamespace(a, "/", l)
	// A request in flight, so that responses naming it are decoded.
	n.calls["aaaaaaaaaaaa"] = &call{typ: wire.RemoteFetch, done: make(chan struct{}), answered: map[string]bool{}}
	n.ncalls.Store(1)
	f.Fuzz(func(t *testing.T, msg string) {
		n.onBroadcast(wire.BroadcastChannel(a.key, "/"), msg)
		n.onBroadcast(wire.RoomChannel(a.key, "/", "room1"), msg)
		n.onRequest(msg)
		n.onResponse(msg)
		n.onResponse(`{"requestId":"aaaaaaaaaaaa",` + msg)
		a.out.take(nil)
		for _, b := range l.snapshot().broadcasts {
			if !json.Valid(b.Data) || b.Data[0] != '[' {
				t.Fatalf("Local got %q", b.Data)
			}
		}
		l.mu.Lock()
		l.broadcasts = nil
		l.mu.Unlock()
	})
}
