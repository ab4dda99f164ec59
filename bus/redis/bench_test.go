package redis

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
)

// A typical chat event (the wire package's benchmark payload).
var benchData = json.RawMessage(`["chat",{"user":"alice","text":"hi there","ts":1795649902865,"score":4.5,"tags":["a","b"]}]`)

// nopLocal counts broadcasts and has every room.
type nopLocal struct{ n atomic.Int64 }

func (l *nopLocal) Broadcast(*bus.Broadcast) { l.n.Add(1) }
func (l *nopLocal) BroadcastWithAck(*bus.Broadcast, time.Duration, func(bus.Message)) int {
	return 0
}
func (l *nopLocal) Join(bus.Selector, []string) int               { return 0 }
func (l *nopLocal) Leave(bus.Selector, []string) int              { return 0 }
func (l *nopLocal) Disconnect(bus.Selector, bool) int             { return 0 }
func (l *nopLocal) Sockets(bus.Selector) []bus.SocketInfo         { return nil }
func (l *nopLocal) Rooms() []string                               { return nil }
func (l *nopLocal) HasRoom(room string) bool                      { return room != "elsewhere" }
func (l *nopLocal) ServerSideEmit(bus.Message, func(bus.Message)) {}

// benchNamespace is a namespace of an adapter that is not connected: enough for the codec
// paths.
func benchNamespace(id string, l bus.Local) *namespace {
	return newNamespace(offlineAdapter(id, nopMetrics{}), "/", l)
}

// offlineAdapter is an Adapter with no connection and no goroutine.
func offlineAdapter(id string, m Metrics) *Adapter {
	cfg, _ := Config{NodeID: id, Logger: slog.New(slog.DiscardHandler), Metrics: m}.withDefaults()
	a := &Adapter{cfg: cfg, id: id, key: cfg.Key, metrics: m, log: cfg.Logger,
		drops: dropLog{log: cfg.Logger}, selfPrefix: msgpackArrayStrPrefix(id)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a
}

// BenchmarkPublishEncode is the sending side of Publish: one encoding per broadcast.
func BenchmarkPublishEncode(b *testing.B) {
	n := benchNamespace("sb-sender", &nopLocal{})
	br := &bus.Broadcast{Selector: bus.Selector{Rooms: []string{"room1"}, Except: []string{"j0wpkWobCnBucrfTAAAA"}},
		Message: bus.Message{Data: benchData}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := n.encodeBroadcast(br); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiveDeliver is the receiving side: room filter, decode once, deliver.
func BenchmarkReceiveDeliver(b *testing.B) {
	sender := benchNamespace("sb-sender", &nopLocal{})
	l := &nopLocal{}
	n := benchNamespace("sb-receiver", l)
	for _, bc := range []struct {
		name  string
		rooms []string
		want  int64
	}{
		{"room", []string{"room1"}, 1},
		{"namespace", nil, 1},
		{"other-room", []string{"elsewhere"}, 0}, // dropped before decoding
	} {
		b.Run(bc.name, func(b *testing.B) {
			ch, msg, err := sender.encodeBroadcast(&bus.Broadcast{Selector: bus.Selector{Rooms: bc.rooms}, Message: bus.Message{Data: benchData}})
			if err != nil {
				b.Fatal(err)
			}
			payload := string(msg)
			l.n.Store(0)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				n.onBroadcast(ch, payload)
			}
			if got := l.n.Load(); (got > 0) != (bc.want > 0) {
				b.Fatalf("delivered %d", got)
			}
		})
	}
	b.Run("own-echo", func(b *testing.B) {
		ch, msg, _ := n.encodeBroadcast(&bus.Broadcast{Message: bus.Message{Data: benchData}})
		payload := string(msg)
		l.n.Store(0)
		b.ReportAllocs()
		for b.Loop() {
			n.onBroadcast(ch, payload)
		}
		if l.n.Load() != 0 {
			b.Fatal("own broadcast delivered")
		}
	})
}

// BenchmarkRoundTrip publishes through a real redis-server to another node: throughput of the
// whole path (encode, queue, pipeline, Redis, subscriber, decode, deliver).
func BenchmarkRoundTrip(b *testing.B) {
	c := newCluster(b)
	a, r := c.node("A"), c.node("B")
	ns := attach(b, a, "/", &nopLocal{})
	l := &nopLocal{}
	attach(b, r, "/", l)
	ctx := context.Background()
	br := &bus.Broadcast{Selector: bus.Selector{Rooms: []string{"room1"}}, Message: bus.Message{Data: benchData}}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := ns.Publish(ctx, br); err != nil {
			b.Fatal(err)
		}
		n++
	}
	deadline := time.Now().Add(30 * time.Second)
	for l.n.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := l.n.Load(); got != int64(n) {
		b.Fatalf("delivered %d of %d", got, n)
	}
}
