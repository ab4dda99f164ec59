package nats

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
)

var benchBroadcast = bus.Broadcast{
	Selector: bus.Selector{Rooms: []string{"general"}, Except: []string{"AAAAAAAAAAAAAAAAAAAA"}},
	Message:  bus.Message{Data: json.RawMessage(`["message",{"user":"alice","text":"hello, world","ts":1712345678901}]`)},
}

func BenchmarkEnvelope(b *testing.B) {
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf := getBuf()
			*buf = appendBroadcast((*buf)[:0], 1, &benchBroadcast)
			putBuf(buf)
		}
	})
	b.Run("decode", func(b *testing.B) {
		enc := appendBroadcast(nil, 1, &benchBroadcast)
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		for b.Loop() {
			var out bus.Broadcast
			if _, _, err := decodeBroadcast(enc, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-binary", func(b *testing.B) {
		bc := benchBroadcast
		bc.Attachments = [][]byte{make([]byte, 4096)}
		enc := appendBroadcast(nil, 1, &bc)
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		for b.Loop() {
			var out bus.Broadcast
			if _, _, err := decodeBroadcast(enc, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchLocal counts deliveries and signals each one.
type benchLocal struct {
	fakeLocal
	n    atomic.Int64
	each chan struct{}
}

func (l *benchLocal) Broadcast(*bus.Broadcast) {
	l.n.Add(1)
	select {
	case l.each <- struct{}{}:
	default:
	}
}

func (l *benchLocal) HasRoom(string) bool { return true }

// BenchmarkRoundTrip measures Publish on one node to Local.Broadcast on
// another through an embedded nats-server: one at a time (latency) and
// pipelined (throughput). Allocations include nats.go's and the server's.
func BenchmarkRoundTrip(b *testing.B) {
	srv := natstest.Start(b, nil)
	mk := func(id string, local bus.Local) bus.Namespace {
		a, err := New(context.Background(), Config{Conn: natstest.Connect(b, srv.ClientURL()), NodeID: id})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = a.Close() })
		ns, err := a.Attach("/", local)
		if err != nil {
			b.Fatal(err)
		}
		return ns
	}
	sender := mk("sender", newLocal("sender"))
	local := &benchLocal{fakeLocal: *newLocal("receiver"), each: make(chan struct{}, 1)}
	receiver := mk("receiver", local)
	receiver.RoomCreated("general")
	time.Sleep(50 * time.Millisecond) // let the subscription reach the server
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		b    bus.Broadcast
	}{
		{"room", benchBroadcast},
		{"two-rooms", bus.Broadcast{Selector: bus.Selector{Rooms: []string{"general", "random"}}, Message: benchBroadcast.Message}},
	} {
		receiver.RoomCreated("random")
		b.Run(bc.name+"/sequential", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				want := local.n.Load() + 1
				if err := sender.Publish(ctx, &bc.b); err != nil {
					b.Fatal(err)
				}
				awaitCount(b, local, want)
			}
		})
		b.Run(bc.name+"/pipelined", func(b *testing.B) {
			// At most window broadcasts in flight, so that nothing is
			// dropped as a slow consumer.
			const window = 256
			b.ReportAllocs()
			sent := local.n.Load()
			for b.Loop() {
				if err := sender.Publish(ctx, &bc.b); err != nil {
					b.Fatal(err)
				}
				sent++
				if sent-local.n.Load() > window {
					awaitCount(b, local, sent-window/2)
				}
			}
			awaitCount(b, local, sent)
		})
	}
}

// awaitCount waits until l delivered n broadcasts in all.
func awaitCount(b *testing.B, l *benchLocal, n int64) {
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for l.n.Load() < n {
		select {
		case <-l.each:
		case <-deadline.C:
			b.Fatalf("delivered %d of %d broadcasts", l.n.Load(), n)
		}
	}
}
