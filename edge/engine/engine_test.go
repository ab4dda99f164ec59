package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// echoServer starts a server whose sessions echo every message.
func echoServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.OnOpen == nil {
		cfg.OnOpen = func(s *Session) Receiver { return &echoRecv{s: s} }
	}
	srv := NewServer(cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Shutdown(t.Context())
		hs.Close()
		testutil.NoLeaks(t, "switchboard/edge/engine.(*Session)")
	})
	return srv, hs
}

type echoRecv struct {
	s      *Session
	closed atomic.Value
}

func (e *echoRecv) OnMessage(data []byte, binary bool) {
	if binary {
		_ = e.s.Send(Frame{Data: data, Binary: true})
		return
	}
	_ = e.s.Send(Frame{Data: append([]byte{'4'}, data...)})
}

func (e *echoRecv) OnClose(reason string) { e.closed.Store(reason) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func post(t *testing.T, url, ctype, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func handshake(t *testing.T, base string) string {
	t.Helper()
	code, body := get(t, base+"/?EIO=4&transport=polling")
	if code != 200 || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake: %d %q", code, body)
	}
	var op openPacket
	if err := json.Unmarshal([]byte(body[1:]), &op); err != nil {
		t.Fatal(err)
	}
	return op.SID
}

func TestHandshakeOpenPacket(t *testing.T) {
	_, hs := echoServer(t, Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	_, body := get(t, hs.URL+"/?EIO=4&transport=polling")
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body[1:]), &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 5 {
		t.Errorf("open packet has keys %v, want exactly sid, upgrades, pingInterval, pingTimeout, maxPayload", keys)
	}
	var op openPacket
	_ = json.Unmarshal([]byte(body[1:]), &op)
	if len(op.SID) != 20 || op.PingInterval != 300 || op.PingTimeout != 200 || op.MaxPayload != 1e6 || fmt.Sprint(op.Upgrades) != "[websocket]" {
		t.Errorf("open packet = %+v", op)
	}
}

func TestRequestErrors(t *testing.T) {
	_, hs := echoServer(t, Config{})
	sid := handshake(t, hs.URL)
	tests := []struct {
		name, method, query string
		status, code        int
	}{
		{"no transport", "GET", "?EIO=4", 400, 0},
		{"unknown transport", "GET", "?EIO=4&transport=abc", 400, 0},
		{"no EIO", "GET", "?transport=polling", 400, 5},
		{"EIO 3", "GET", "?EIO=3&transport=polling", 400, 5},
		{"handshake POST", "POST", "?EIO=4&transport=polling", 400, 2},
		{"handshake PUT", "PUT", "?EIO=4&transport=polling", 400, 2},
		{"websocket without upgrade", "GET", "?EIO=4&transport=websocket", 400, 3},
		{"unknown sid", "GET", "?EIO=4&transport=polling&sid=nope", 400, 1},
		{"websocket sid without upgrade", "GET", "?EIO=4&transport=websocket&sid=" + sid, 400, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, hs.URL+"/"+tt.query, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatalf("body: %v", err)
			}
			if res.StatusCode != tt.status || body.Code != tt.code || body.Message == "" {
				t.Errorf("got %d %+v, want %d code %d", res.StatusCode, body, tt.status, tt.code)
			}
		})
	}
	t.Run("other method on a session", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", hs.URL+"/?EIO=4&transport=polling&sid="+sid, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 500 {
			t.Errorf("PUT on a session: %d, want 500", res.StatusCode)
		}
	})
}

func TestPollingEchoAndBatching(t *testing.T) {
	_, hs := echoServer(t, Config{})
	sid := handshake(t, hs.URL)
	u := hs.URL + "/?EIO=4&transport=polling&sid=" + sid
	if code, body := post(t, u, "text/plain;charset=UTF-8", "4a\x1ebAQID\x1e4é"); code != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", code, body)
	}
	if code, body := get(t, u); code != 200 || body != "4a\x1ebAQID\x1e4é" {
		t.Fatalf("GET: %d %q", code, body)
	}
}

func TestPollingRejects(t *testing.T) {
	_, hs := echoServer(t, Config{MaxPayload: 100})
	t.Run("too large keeps the session", func(t *testing.T) {
		sid := handshake(t, hs.URL)
		u := hs.URL + "/?EIO=4&transport=polling&sid=" + sid
		if code, _ := post(t, u, "text/plain", "4"+strings.Repeat("x", 100)); code != 413 {
			t.Fatalf("oversized POST: %d, want 413", code)
		}
		if code, _ := post(t, u, "text/plain", "4ok"); code != 200 {
			t.Fatalf("POST after 413: %d, want 200 (session kept)", code)
		}
	})
	for _, tc := range []struct{ name, ctype, body string }{
		{"octet-stream", "application/octet-stream", "4hello"},
		{"parse error", "text/plain", "abc"},
		{"invalid utf-8", "text/plain", "4\xff\xfe"},
		{"client ping", "text/plain", "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sid := handshake(t, hs.URL)
			u := hs.URL + "/?EIO=4&transport=polling&sid=" + sid
			if code, _ := post(t, u, tc.ctype, tc.body); code == 200 && tc.name != "client ping" {
				t.Fatalf("POST %q answered 200", tc.body)
			}
			if code, _ := get(t, u); code != 400 {
				t.Fatalf("GET after %s: %d, want 400 (session closed)", tc.name, code)
			}
		})
	}
}

func TestConcurrentGetClosesSession(t *testing.T) {
	_, hs := echoServer(t, Config{})
	sid := handshake(t, hs.URL)
	u := hs.URL + "/?EIO=4&transport=polling&sid=" + sid
	first := make(chan string, 1)
	go func() {
		_, body := get(t, u)
		first <- body
	}()
	time.Sleep(50 * time.Millisecond)
	if code, _ := get(t, u); code != 400 {
		t.Fatalf("second GET: %d, want 400", code)
	}
	if body := <-first; body != "1" {
		t.Fatalf("first GET: %q, want close packet", body)
	}
	if code, _ := get(t, u); code != 400 {
		t.Fatalf("later GET: %d, want 400", code)
	}
}

func TestHeartbeatTimeout(t *testing.T) {
	var mu sync.Mutex
	var reason string
	srv, hs := echoServer(t, Config{
		PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond,
		OnOpen: func(s *Session) Receiver { return closeRecorder(func(r string) { mu.Lock(); reason = r; mu.Unlock() }) },
	})
	sid := handshake(t, hs.URL)
	u := hs.URL + "/?EIO=4&transport=polling&sid=" + sid
	if _, body := get(t, u); body != "2" {
		t.Fatalf("first poll = %q, want ping", body)
	}
	testutil.CheckFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if srv.Session(sid) != nil {
			return fmt.Errorf("session still alive")
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if reason != ReasonPingTimeout {
		t.Fatalf("close reason %q, want %q", reason, ReasonPingTimeout)
	}
}

type closeRecorder func(string)

func (closeRecorder) OnMessage([]byte, bool) {}
func (c closeRecorder) OnClose(r string)     { c(r) }

func wsURL(hs *httptest.Server, query string) string {
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/?" + query
}

func TestWebSocketEchoAndLimits(t *testing.T) {
	_, hs := echoServer(t, Config{MaxPayload: 1000})
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(hs, "EIO=4&transport=websocket"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, open, _ := ws.ReadMessage()
	if !bytes.HasPrefix(open, []byte(`0{"sid":"`)) || !bytes.Contains(open, []byte(`"upgrades":[]`)) {
		t.Fatalf("open = %s", open)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4hello"))
	_ = ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	if mt, m, _ := ws.ReadMessage(); mt != websocket.TextMessage || string(m) != "4hello" {
		t.Fatalf("echo = %d %q", mt, m)
	}
	if mt, m, _ := ws.ReadMessage(); mt != websocket.BinaryMessage || !bytes.Equal(m, []byte{1, 2, 3}) {
		t.Fatalf("binary echo = %d %v", mt, m)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4"+strings.Repeat("x", 1000)))
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errorsAs(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized message: %v, want close 1009", err)
	}
}

func TestWebSocketInvalidUTF8(t *testing.T) {
	_, hs := echoServer(t, Config{})
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(hs, "EIO=4&transport=websocket"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, _, _ = ws.ReadMessage()
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4\xff"))
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errorsAs(err, &ce) || ce.Code != websocket.CloseInvalidFramePayloadData {
		t.Fatalf("invalid UTF-8: %v, want close 1007", err)
	}
}

func TestSlowConsumerIsClosed(t *testing.T) {
	var sess atomic.Pointer[Session]
	var reason atomic.Value
	srv := NewServer(Config{MaxQueueBytes: 1000, OnOpen: func(s *Session) Receiver {
		sess.Store(s)
		return closeRecorder(func(r string) { reason.Store(r) })
	}})
	defer srv.Shutdown(t.Context())
	block := make(chan struct{})
	s, err := srv.OpenSink(nil, func([]Frame) error { <-block; return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer close(block)
	frame := Frame{Data: bytes.Repeat([]byte("4"), 300)}
	var sendErr error
	for range 10 {
		if sendErr = s.Send(frame); sendErr != nil {
			break
		}
	}
	if sendErr != ErrSlowConsumer {
		t.Fatalf("Send error %v, want ErrSlowConsumer", sendErr)
	}
	testutil.CheckFor(t, 2*time.Second, time.Millisecond, func() error {
		if r, _ := reason.Load().(string); r != ReasonSlowConsumer {
			return fmt.Errorf("close reason %q, want %q", r, ReasonSlowConsumer)
		}
		return nil
	})
	if err := s.Send(frame); err != ErrClosed {
		t.Fatalf("Send after close: %v, want ErrClosed", err)
	}
}

func TestCORS(t *testing.T) {
	_, hs := echoServer(t, Config{CORSOrigins: []string{"https://app.example"}, CORSCredentials: true})
	req, _ := http.NewRequest("GET", hs.URL+"/?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", "https://app.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin: %d %v", res.StatusCode, res.Header)
	}
	req.Header.Set("Origin", "https://evil.example")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("foreign origin: %d, want 403", res.StatusCode)
	}
	_, _, err = websocket.DefaultDialer.Dial(wsURL(hs, "EIO=4&transport=websocket"), http.Header{"Origin": {"https://evil.example"}})
	if err == nil {
		t.Fatal("WebSocket from a foreign origin was accepted")
	}
}

func TestShutdownClosesWebSockets(t *testing.T) {
	srv, hs := echoServer(t, Config{})
	conns := make([]*websocket.Conn, 5)
	for i := range conns {
		ws, _, err := websocket.DefaultDialer.Dial(wsURL(hs, "EIO=4&transport=websocket"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		_, _, _ = ws.ReadMessage()
		conns[i] = ws
	}
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, ws := range conns {
		_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _, err := ws.ReadMessage()
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("after Shutdown: %v, want a normal close", err)
		}
	}
	if srv.Len() != 0 {
		t.Fatalf("%d sessions after Shutdown", srv.Len())
	}
}

func TestUpgrade(t *testing.T) {
	_, hs := echoServer(t, Config{})
	sid := handshake(t, hs.URL)
	u := hs.URL + "/?EIO=4&transport=polling&sid=" + sid
	// Something queued on polling before the upgrade is delivered by polling.
	if code, _ := post(t, u, "text/plain", "4before"); code != 200 {
		t.Fatal(code)
	}
	if _, body := get(t, u); body != "4before" {
		t.Fatalf("GET = %q", body)
	}
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(hs, "EIO=4&transport=websocket&sid="+sid), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	pending := make(chan string, 1)
	go func() { _, body := get(t, u); pending <- body }()
	time.Sleep(20 * time.Millisecond)
	_ = ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
	if _, m, _ := ws.ReadMessage(); string(m) != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	if body := <-pending; body != "6" {
		t.Fatalf("pending GET during upgrade = %q, want noop", body)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("5"))
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4after"))
	if _, m, _ := ws.ReadMessage(); string(m) != "4after" {
		t.Fatalf("echo after upgrade %q", m)
	}
	if code, _ := get(t, u); code != 400 {
		t.Fatalf("polling after upgrade: %d, want 400", code)
	}
	// A second WebSocket for an upgraded session is closed.
	ws2, _, err := websocket.DefaultDialer.Dial(wsURL(hs, "EIO=4&transport=websocket&sid="+sid), nil)
	if err == nil {
		_ = ws2.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := ws2.ReadMessage(); err == nil {
			t.Fatal("second WebSocket was not closed")
		}
		ws2.Close()
	}
}

func countGoroutines(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), fn+"(") // frames, not "created by" lines
}

func TestIdleWriterIsReaped(t *testing.T) {
	srv := NewServer(Config{PingInterval: time.Hour, PingTimeout: time.Hour})
	defer srv.Shutdown(t.Context())
	var got atomic.Int64
	s, err := srv.OpenSink(nil, func(f []Frame) error { got.Add(int64(len(f))); return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	// SendNow on an idle session writes on the calling goroutine.
	if err := s.SendNow(Frame{Data: []byte("4a")}); err != nil || got.Load() != 1 {
		t.Fatalf("SendNow: %v, %d frames written", err, got.Load())
	}
	if n := countGoroutines("engine.(*Session).writeLoop"); n != 0 {
		t.Fatalf("%d writer goroutines after SendNow, want 0", n)
	}
	// Send starts a writer goroutine...
	_ = s.Send(Frame{Data: []byte("4b")})
	testutil.CheckFor(t, time.Second, time.Millisecond, func() error {
		if got.Load() != 2 {
			return fmt.Errorf("%d frames written", got.Load())
		}
		return nil
	})
	if n := countGoroutines("engine.(*Session).writeLoop"); n != 1 {
		t.Fatalf("%d writer goroutines after Send, want 1", n)
	}
	// ...which exits after two idle reaper periods, and comes back on demand.
	srv.reapIdleWriters()
	srv.reapIdleWriters()
	testutil.CheckFor(t, time.Second, time.Millisecond, func() error {
		if n := countGoroutines("engine.(*Session).writeLoop"); n != 0 {
			return fmt.Errorf("%d writer goroutines", n)
		}
		return nil
	})
	_ = s.Send(Frame{Data: []byte("4c")})
	testutil.CheckFor(t, time.Second, time.Millisecond, func() error {
		if got.Load() != 3 {
			return fmt.Errorf("%d frames written", got.Load())
		}
		return nil
	})
}

func TestIdleReaderMovesToAFreshGoroutine(t *testing.T) {
	old := readerIdle
	readerIdle = 30 * time.Millisecond
	defer func() { readerIdle = old }()
	_, hs := echoServer(t, Config{})
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(hs, "EIO=4&transport=websocket"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, _, _ = ws.ReadMessage()
	for i := range 3 {
		time.Sleep(100 * time.Millisecond) // several idle periods: the reader moves each time
		msg := fmt.Sprintf("4m%d", i)
		_ = ws.WriteMessage(websocket.TextMessage, []byte(msg))
		// A message split over two writes straddles a wait, too.
		_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, m, err := ws.ReadMessage(); err != nil || string(m) != msg {
			t.Fatalf("echo after idle: %q %v", m, err)
		}
	}
	if n := countGoroutines("engine.(*Session).readLoop"); n != 1 {
		t.Fatalf("%d reader goroutines, want 1", n)
	}
}
