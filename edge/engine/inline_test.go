package engine

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsSession opens a WebSocket session on srv and returns the client side and
// the server's session.
func wsSession(t *testing.T, cfg Config) (*websocket.Conn, *Session) {
	t.Helper()
	var sess atomic.Pointer[Session]
	cfg.OnOpen = func(s *Session) Receiver {
		sess.Store(s)
		return closeRecorder(func(string) {})
	}
	_, hs := echoServer(t, cfg)
	c, _, err := websocket.DefaultDialer.Dial(wsURL(hs, "EIO=4&transport=websocket"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, open, err := c.ReadMessage(); err != nil || open[0] != '0' {
		t.Fatalf("open packet: %q, %v", open, err)
	}
	return c, sess.Load()
}

// A quiet session's frames are written by the sender: no writer goroutine
// exists afterwards. A busy one's are queued for the writer.
func TestSendWritesInlineWhenQuiet(t *testing.T) {
	c, s := wsSession(t, Config{PingInterval: time.Hour, PingTimeout: time.Hour})
	s.mu.Lock()
	s.lastWrite -= int64(time.Second) // quiet for a while
	s.mu.Unlock()
	if err := s.Send(Frame{Data: []byte("4inline")}); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "4inline" {
		t.Fatalf("got %q, %v", msg, err)
	}
	s.mu.Lock()
	up := s.writerUp
	s.mu.Unlock()
	if up {
		t.Fatal("a frame for a quiet session started the writer goroutine")
	}

	// Right after a write the session is busy: the next frame is queued.
	if err := s.Send(Frame{Data: []byte("4queued")}); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "4queued" {
		t.Fatalf("got %q, %v", msg, err)
	}
	s.mu.Lock()
	up = s.writerUp
	s.mu.Unlock()
	if !up {
		t.Fatal("a frame for a busy session was not left to the writer")
	}

	// Queue never writes inline.
	s.mu.Lock()
	s.lastWrite -= int64(time.Second)
	s.mu.Unlock()
	if err := s.Queue(Frame{Data: []byte("4q")}); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "4q" {
		t.Fatalf("got %q, %v", msg, err)
	}
}

// When the socket buffer is full, an inline write takes what fits and the
// writer finishes the frame before anything queued meanwhile: with two
// goroutines sending, the client reads every frame whole, each sender's in
// order.
func TestSendInlinePartialWrite(t *testing.T) {
	defer func(d time.Duration) { inlineAfter = d }(inlineAfter)
	inlineAfter = 0 // every Send on an idle session writes inline
	c, s := wsSession(t, Config{PingInterval: time.Hour, PingTimeout: time.Hour, MaxQueueBytes: 64 << 20})
	const n = 400 // per sender, ~8 MB in all: far more than the socket buffers hold
	sent := make(chan error, 2)
	for _, who := range []string{"A", "B"} {
		go func() {
			for i := range n {
				size := 3000 + 7919*i%9000 // varied sizes: partial writes fall anywhere
				data := fmt.Appendf(bytes.Repeat([]byte("x"), size), "|%s%d", who, i)
				if err := s.Send(Frame{Data: data}); err != nil {
					sent <- err
					return
				}
			}
			sent <- nil
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the buffers fill before reading
	next := map[string]int{}
	for i := range 2 * n {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		bar := bytes.LastIndexByte(msg, '|')
		if bar < 0 || len(msg) < bar+3 || bytes.Count(msg[:bar], []byte("x")) != bar {
			t.Fatalf("frame %d is not whole: %d bytes", i, len(msg))
		}
		who, seq := string(msg[bar+1]), string(msg[bar+2:])
		if want := fmt.Sprint(next[who]); seq != want || bar != 3000+7919*next[who]%9000 {
			t.Fatalf("frame %d: %s%s (%d bytes), want %s%s", i, who, seq, bar, who, want)
		}
		next[who]++
	}
	for range 2 {
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
	}
}

// A frame queued by another goroutine while an inline write is under way
// goes after what that write left unwritten (the rest of a frame, or all of
// it when the socket buffer was full).
func TestSendInlineRestGoesFirst(t *testing.T) {
	defer func(d time.Duration) { inlineAfter = d }(inlineAfter)
	inlineAfter = 0
	c, s := wsSession(t, Config{PingInterval: time.Hour, PingTimeout: time.Hour, MaxQueueBytes: 64 << 20})
	big := bytes.Repeat([]byte("y"), 12000) // under inlineMax
	// The client does not read yet: inline writes fill the socket buffers
	// until one is cut short; at that moment another sender queues.
	var short atomic.Bool
	afterInlineWrite = func(s *Session, wrote int) {
		if wrote < len(big)+4 && !short.Swap(true) { // 4: the frame header
			_ = s.Send(Frame{Data: []byte("4meanwhile")}) // s.writing is set: queued
		}
	}
	defer func() { afterInlineWrite = nil }()
	sent := 0
	for !short.Load() {
		if sent == 5000 {
			t.Fatal("60 MB written inline without filling the socket buffers")
		}
		if err := s.Send(Frame{Data: big}); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	for i := range sent {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil || !bytes.Equal(msg, big) {
			t.Fatalf("frame %d of %d: %d bytes %.12q, %v", i, sent, len(msg), msg, err)
		}
	}
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "4meanwhile" {
		t.Fatalf("last frame %q, %v", msg, err)
	}
}

// After the write deadline the writer set has passed, the descriptor refuses
// inline writes; the frames then go to the writer, which sets a new deadline.
func TestSendInlineAfterWriteDeadline(t *testing.T) {
	c, s := wsSession(t, Config{PingInterval: time.Hour, PingTimeout: time.Hour})
	if err := s.ws.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.writeDeadline, s.lastWrite = 0, s.lastWrite-int64(time.Second)
	s.mu.Unlock()
	if err := s.Send(Frame{Data: []byte("4late")}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "4late" {
		t.Fatalf("got %q, %v", msg, err)
	}
	if !s.open() {
		t.Fatal("the session was closed")
	}
}
