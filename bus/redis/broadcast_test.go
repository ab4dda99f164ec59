package redis

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/bus/redis/wire"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

func TestBroadcastBetweenNodes(t *testing.T) {
	c := newCluster(t)
	a, b, d := c.node("A"), c.node("B"), c.node("C")
	la, lb, ld := newLocal(), newLocal("r1"), newLocal("r2")
	nsA := attach(t, a, "/", la)
	attach(t, b, "/", lb)
	attach(t, d, "/", ld)
	lchat := newLocal("r1")
	attach(t, b, "/chat", lchat)
	ctx := ctxT(t, 10*time.Second)

	publish := func(br bus.Broadcast) {
		t.Helper()
		if err := nsA.Publish(ctx, &br); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}

	// The whole namespace: both other nodes, not the sender, not another namespace.
	publish(bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["all",1]`)}})
	got := lb.waitBroadcast(t, `["all",1]`)
	if len(got.Rooms) != 0 || len(got.Except) != 0 || got.Volatile {
		t.Errorf("whole-namespace broadcast: %+v", got)
	}
	ld.waitBroadcast(t, `["all",1]`)

	// One room: the room channel, dropped unread by nodes without the room.
	publish(bus.Broadcast{Selector: bus.Selector{Rooms: []string{"r1"}}, Message: bus.Message{Data: json.RawMessage(`["room",2]`)}})
	got = lb.waitBroadcast(t, `["room",2]`)
	if !slices.Equal(got.Rooms, []string{"r1"}) {
		t.Errorf("room broadcast rooms: %v", got.Rooms)
	}

	// Several rooms, except, volatile, binary.
	publish(bus.Broadcast{
		Selector: bus.Selector{Rooms: []string{"r1", "r2"}, Except: []string{"x"}},
		Message:  bus.Message{Data: json.RawMessage(`["multi",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}}},
		Volatile: true,
	})
	got = lb.waitBroadcast(t, `["multi",{"_placeholder":true,"num":0}]`)
	if !slices.Equal(got.Rooms, []string{"r1", "r2"}) || !slices.Equal(got.Except, []string{"x"}) || !got.Volatile ||
		len(got.Attachments) != 1 || !bytes.Equal(got.Attachments[0], []byte{1, 2, 3}) {
		t.Errorf("multi-room broadcast: %+v", got)
	}
	ld.waitBroadcast(t, `["multi",{"_placeholder":true,"num":0}]`)

	// A fence: everything A published before it reached C and B.
	publish(bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["fence"]`)}})
	ld.waitBroadcast(t, `["fence"]`)
	lb.waitBroadcast(t, `["fence"]`)
	if ld.hasBroadcast(`["room",2]`) {
		t.Error("C, without room r1, got the r1 broadcast")
	}
	if len(la.snapshot().broadcasts) != 0 {
		t.Errorf("the sender got its own broadcasts: %v", la.snapshot().broadcasts)
	}
	if n := len(lchat.snapshot().broadcasts); n != 0 {
		t.Errorf("/chat got %d broadcasts of /", n)
	}
}

// The exact bytes on the wire: those of the reference adapter (captured sample, uid aside).
func TestPublishWireFormat(t *testing.T) {
	c := newCluster(t)
	a := c.node("vjpYAZ")
	ns := attach(t, a, "/", newLocal())
	nsImpl := ns.(*namespace)
	ch, msg, err := nsImpl.encodeBroadcast(&bus.Broadcast{
		Selector: bus.Selector{Rooms: []string{"room1"}},
		Message:  bus.Message{Data: json.RawMessage(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	const want = "93a6766a7059415a83a47479706502a46461746192a362696ec403010203a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380"
	if ch != c.key+"#/#room1#" || hexOf(msg) != want {
		t.Fatalf("got %s %s\nwant %s#/#room1# %s", ch, hexOf(msg), c.key, want)
	}
}

func TestPublishErrors(t *testing.T) {
	c := newCluster(t)
	cfg := c.config("A")
	cfg.MaxMessageBytes = 100
	a := c.nodeWith(cfg)
	ns := attach(t, a, "/", newLocal())
	ctx := ctxT(t, 5*time.Second)
	big := json.RawMessage(`["big","` + string(bytes.Repeat([]byte("x"), 200)) + `"]`)
	if err := ns.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: big}}); !errors.Is(err, bus.ErrTooLarge) {
		t.Errorf("Publish of a large broadcast: %v, want ErrTooLarge", err)
	}
	if err := ns.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`{"not":"an array"}`)}}); !errors.Is(err, wire.ErrInvalidData) {
		t.Errorf("Publish of an object: %v, want ErrInvalidData", err)
	}
	if _, err := a.Attach("/", newLocal()); err == nil {
		t.Error("a namespace attached twice")
	}
	if _, err := a.Attach("chat", newLocal()); err == nil {
		t.Error("a namespace without '/' attached")
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ns.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["x"]`)}}); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	// Detached namespaces can be attached again.
	attach(t, a, "/", newLocal())
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Attach("/x", newLocal()); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Attach after Close: %v", err)
	}
	if err := a.Ready(); !errors.Is(err, bus.ErrUnavailable) || !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Ready after Close: %v", err)
	}
	testutil.NoLeaks(t, module)
}

// A detached namespace stops receiving; the adapter's other namespaces go on.
func TestNamespaceClose(t *testing.T) {
	c := newCluster(t)
	a, b := c.node("A"), c.node("B")
	nsA := attach(t, a, "/", newLocal())
	chatA := attach(t, a, "/chat", newLocal())
	lb, lchat := newLocal(), newLocal()
	attach(t, b, "/", lb)
	chatB := attach(t, b, "/chat", lchat)
	ctx := ctxT(t, 5*time.Second)
	if err := chatB.Close(); err != nil {
		t.Fatal(err)
	}
	if err := chatA.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["gone"]`)}}); err != nil {
		t.Fatal(err)
	}
	if err := nsA.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: json.RawMessage(`["still"]`)}}); err != nil {
		t.Fatal(err)
	}
	lb.waitBroadcast(t, `["still"]`)
	if lchat.hasBroadcast(`["gone"]`) {
		t.Error("a closed namespace got a broadcast")
	}
	// No one listens to /chat any more: a request returns at once with nobody missing.
	start := time.Now()
	rooms, res, err := chatA.AllRooms(ctx)
	if err != nil || len(rooms) != 0 || res.Answered != 0 || len(res.Missing) != 0 || res.Missing == nil || time.Since(start) > time.Second {
		t.Errorf("AllRooms on a namespace nobody else has: %v %+v %v after %v", rooms, res, err, time.Since(start))
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
