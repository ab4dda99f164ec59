package loadtest

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkReceive measures the client's receive path per "msg" event: frame
// read, Engine.IO and Socket.IO decoding, payload parsing and accounting.
func BenchmarkReceive(b *testing.B) {
	frame := append([]byte(`42["msg",`), newPayload(128).append(nil, 1, 1)...)
	frame = append(frame, ']')
	n := b.N
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for range n {
			if ws.WriteMessage(websocket.TextMessage, frame) != nil {
				return
			}
		}
		ws.ReadMessage() // until the client closes
	}))
	defer srv.Close()
	rc, err := Config{URLs: []string{srv.URL}}.resolve()
	if err != nil {
		b.Fatal(err)
	}
	f := newFleet(rc, readBufferSize)
	ws, err := f.dialers[0].dial(context.Background(), rc.targets[0].url, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.close()
	c := newClient(ws, "/")
	s := &broadcastRun{base: time.Now(), kick: make(chan struct{}, 1)}
	s.measureFrom.Store(math.MinInt64)
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		p, err := c.nextPacket()
		if err != nil {
			b.Fatal(err)
		}
		s.onPacket(c, p)
	}
	b.StopTimer()
	if got := s.delivered.Load(); got != uint64(n) {
		b.Fatalf("delivered %d of %d", got, n)
	}
}
