package edge

import (
	"bytes"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/edge/engine"
)

// sinkClients opens n in-process sessions connected to namespace "/" and in
// room "r"; delivered counts the message frames they were handed.
func sinkClients(tb testing.TB, srv *Server, n int, delivered *atomic.Int64) {
	tb.Helper()
	for range n {
		sess, err := srv.eng.OpenSink(nil, func(f []engine.Frame) error {
			delivered.Add(int64(len(f)))
			return nil
		}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		sess.Deliver([]byte("0"), false)
	}
	nsp := srv.Of("/")
	nsp.mu.RLock()
	socks := make([]*Socket, 0, len(nsp.sockets))
	for _, s := range nsp.sockets {
		socks = append(socks, s)
	}
	nsp.mu.RUnlock()
	if len(socks) != n {
		tb.Fatalf("%d sockets connected, want %d", len(socks), n)
	}
	for _, s := range socks {
		s.Join("r")
	}
}

func waitDelivered(tb testing.TB, delivered *atomic.Int64, want int64) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for delivered.Load() < want {
		if time.Now().After(deadline) {
			tb.Fatalf("delivered %d frames, want %d", delivered.Load(), want)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// BenchmarkBroadcast measures a room broadcast of a ~100-byte event to n
// sockets, delivery through each session's writer included. Allocations per
// broadcast must not grow with n: the packet is encoded once.
func BenchmarkBroadcast(b *testing.B) {
	payload := map[string]any{"text": "the quick brown fox jumps over the lazy dog", "seq": 12345, "ts": 1732582800000}
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			srv := New(Config{PingInterval: time.Hour, PingTimeout: time.Hour, MaxQueueBytes: 64 << 20})
			defer srv.Shutdown(b.Context())
			var delivered atomic.Int64
			sinkClients(b, srv, n, &delivered)
			room := srv.Of("/").To("r")
			// Warm up: start every writer goroutine and size the queues.
			warm := delivered.Load()
			for range 80 {
				_ = room.Emit("msg", payload)
			}
			waitDelivered(b, &delivered, warm+80*int64(n))
			base := delivered.Load()
			b.ReportAllocs()
			b.ResetTimer()
			sent := int64(0)
			for b.Loop() {
				if err := room.Emit("msg", payload); err != nil {
					b.Fatal(err)
				}
				sent++
				if sent%64 == 0 {
					waitDelivered(b, &delivered, base+sent*int64(n)-int64(n)*8)
				}
			}
			waitDelivered(b, &delivered, base+sent*int64(n))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent*int64(n)), "ns/delivery")
		})
	}
}

// BenchmarkEventAck measures the server side of an emit-with-ack echo: an
// EVENT packet handed to the socket (as the reader would, in a buffer of its
// own) and its handler's ack queued and handed to the session's writer.
func BenchmarkEventAck(b *testing.B) {
	srv := New(Config{PingInterval: time.Hour, PingTimeout: time.Hour, MaxQueueBytes: 64 << 20})
	defer srv.Shutdown(b.Context())
	srv.Of("/").On("echo", func(e *Event) { _ = e.Ack(e.Args) })
	var acked atomic.Int64
	sess, err := srv.eng.OpenSink(nil, func(f []engine.Frame) error {
		acked.Add(int64(len(f)))
		return nil
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	sess.Deliver([]byte("0"), false)
	waitDelivered(b, &acked, 1) // the CONNECT answer
	msg := []byte(`21["echo",{"t":1732582800000123,"id":42,"pad":"the quick brown fox jumps over the lazy dog"}]`)
	base := acked.Load()
	b.ReportAllocs()
	sent := int64(0)
	for b.Loop() {
		sess.Deliver(bytes.Clone(msg), false) // the reader's buffer is the handler's to keep
		sent++
		if sent%256 == 0 {
			for acked.Load() < base+sent-64 {
				runtime.Gosched() // let the writer run; a sleep would be timed
			}
		}
	}
	waitDelivered(b, &acked, base+sent)
}
