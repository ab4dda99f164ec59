package memory

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
)

// fakeLocal records what other nodes did to it.
type fakeLocal struct {
	mu         sync.Mutex
	broadcasts []string
	sockets    []bus.SocketInfo
	acks       int // clients that answer a broadcast with ack
}

func (f *fakeLocal) Broadcast(b *bus.Broadcast) {
	f.mu.Lock()
	f.broadcasts = append(f.broadcasts, string(b.Data))
	f.mu.Unlock()
}

func (f *fakeLocal) BroadcastWithAck(b *bus.Broadcast, _ time.Duration, ack func(bus.Message)) int {
	go func() {
		for range f.acks {
			ack(bus.Message{Data: []byte(`["ok"]`)})
		}
	}()
	return f.acks
}
func (f *fakeLocal) Join(bus.Selector, []string) int       { return len(f.sockets) }
func (f *fakeLocal) Leave(bus.Selector, []string) int      { return len(f.sockets) }
func (f *fakeLocal) Disconnect(bus.Selector, bool) int     { return len(f.sockets) }
func (f *fakeLocal) Sockets(bus.Selector) []bus.SocketInfo { return f.sockets }
func (f *fakeLocal) Rooms() []string                       { return []string{"r"} }
func (f *fakeLocal) HasRoom(string) bool                   { return true }
func (f *fakeLocal) ServerSideEmit(m bus.Message, reply func(bus.Message)) {
	if reply != nil {
		reply(bus.Message{Data: []byte(`["pong"]`)})
	}
}

func TestHub(t *testing.T) {
	hub := NewHub()
	a, err := hub.Join("A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Join("A"); !errors.Is(err, bus.ErrNodeIDConflict) {
		t.Fatalf("second A: %v", err)
	}
	b, _ := hub.Join("B")
	c, _ := hub.Join("C")
	la, lb, lc := &fakeLocal{}, &fakeLocal{acks: 2, sockets: []bus.SocketInfo{{ID: "b1"}}}, &fakeLocal{acks: 1, sockets: []bus.SocketInfo{{ID: "c1"}}}
	na, _ := a.Attach("/", la)
	_, _ = b.Attach("/", lb)
	_, _ = c.Attach("/", lc)
	_, _ = c.Attach("/other", &fakeLocal{})
	ctx := context.Background()

	if err := na.Publish(ctx, &bus.Broadcast{Message: bus.Message{Data: []byte(`["hi"]`)}}); err != nil {
		t.Fatal(err)
	}
	if len(la.broadcasts) != 0 || len(lb.broadcasts) != 1 || len(lc.broadcasts) != 1 {
		t.Fatalf("broadcasts: A %v, B %v, C %v (the sender is not its own peer)", la.broadcasts, lb.broadcasts, lc.broadcasts)
	}

	total, acks := 0, 0
	res, err := na.PublishWithAck(ctx, &bus.Broadcast{}, time.Second, func(n int) { total += n }, func(bus.Message) { acks++ })
	if err != nil || total != 3 || acks != 3 || res.Answered != 2 || len(res.Missing) != 0 {
		t.Fatalf("PublishWithAck: total %d acks %d %+v %v", total, acks, res, err)
	}

	socks, res, err := na.FetchSockets(ctx, bus.Selector{})
	if err != nil || len(socks) != 2 || socks[0].Node != "B" || socks[1].Node != "C" || res.Missing == nil {
		t.Fatalf("FetchSockets: %+v %+v %v", socks, res, err)
	}

	c.SetDeaf(true)
	matched, res, err := na.Join(ctx, bus.Selector{}, []string{"x"})
	if err != nil || matched != 1 || !slices.Equal(res.Missing, []string{"C"}) {
		t.Fatalf("Join with C deaf: %d %+v %v", matched, res, err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var answers int
	res, err = na.ServerSideEmit(short, bus.Message{Data: []byte(`["ping"]`)}, func(bus.Message) { answers++ })
	if err != nil || answers != 1 || !slices.Equal(res.Missing, []string{"C"}) {
		t.Fatalf("ServerSideEmit with C deaf: %d answers %+v %v", answers, res, err)
	}

	_ = a.Close()
	if err := na.Publish(ctx, &bus.Broadcast{}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if _, err := hub.Join("A"); err != nil {
		t.Fatalf("the id of a closed node is free again: %v", err)
	}
}
