package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// TestDevServes runs `dev` in-process on free loopback ports and checks what
// it serves, then stops it as SIGTERM would.
func TestDevServes(t *testing.T) {
	noLeaks(t)
	r := start(t, "dev", "--addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	b := r.waitBanner(t)
	c := newHTTPClient(t)

	if !strings.HasPrefix(b.socketIO, "http://127.0.0.1:") || !strings.HasSuffix(b.socketIO, "/socket.io/") {
		t.Fatalf("Socket.IO URL %q", b.socketIO)
	}
	if b.admin+"/socket.io/" != b.socketIO {
		t.Fatalf("admin %q is not on --addr %q", b.admin, b.socketIO)
	}
	if status, body := get(t, c, b.admin+"/healthz"); status != http.StatusOK {
		t.Fatalf("/healthz: %d %s", status, body)
	}
	status, body := get(t, c, b.admin+"/readyz")
	var rep readyReport
	if status != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil || rep.Status != "ready" ||
		rep.Checks["nats"] != "ok" || rep.Checks["server"] != "ok" {
		t.Fatalf("/readyz: %d %s", status, body)
	}

	// Socket.IO over polling: handshake, connect to "/", the demo handlers.
	p := handshake(t, c, b.socketIO)
	p.post("40")
	if pk := p.expect("40"); !strings.HasPrefix(pk, `40{"sid":"`) {
		t.Fatalf("connect reply %q", pk)
	}
	p.post(`421["echo",{"b":1,"a":[2,"x"]},"y"]`)
	if pk := p.expect("431"); pk != `431[{"b":1,"a":[2,"x"]},"y"]` {
		t.Fatalf("echo ack %q", pk)
	}
	p.post(`422["join","lobby"]`)
	if pk := p.expect("432"); !strings.Contains(pk, `"lobby"`) {
		t.Fatalf("join ack %q", pk)
	}
	p.post(`42["broadcast","lobby",{"t":1,"seq":2,"pad":"xx"}]`)
	if pk := p.expect(`42["msg"`); pk != `42["msg",{"t":1,"seq":2,"pad":"xx"}]` {
		t.Fatalf("broadcast %q", pk)
	}

	// Metrics: ours, Go's and the process's.
	status, body = get(t, c, b.admin+"/metrics")
	for _, w := range []string{
		`switchboard_engine_sessions{transport="polling"} 1`,
		`switchboard_sockets{namespace="/"} 1`,
		`switchboard_sockets_connected_total{namespace="/"} 1`,
		"switchboard_engine_packets_received_total ",
		`switchboard_build_info{goversion="go`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics (%d) lacks %q", status, w)
		}
	}

	// The embedded NATS server takes connections.
	nc, err := nats.Connect(b.nats, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("nats %s: %v", b.nats, err)
	}
	sub, err := nc.SubscribeSync("sb.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("sb.test", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "hi" {
		t.Fatalf("nats round trip: %v %v", m, err)
	}
	nc.Close()

	// A long poll is pending when the signal comes: it is answered, the
	// command returns nil, and nothing listens any more.
	polled := make(chan string, 1)
	go func() {
		resp, err := c.Get(p.url)
		if err != nil {
			polled <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		polled <- string(b)
	}()
	// Nothing tells the test that the GET has reached the server; on
	// loopback it takes well under this. A GET that came too late would fail
	// the test with a connection error, not pass it.
	time.Sleep(250 * time.Millisecond)
	if err := r.stop(t, 15*time.Second); err != nil {
		t.Fatalf("stop: %v\nstderr:\n%s", err, r.stderr.String())
	}
	select {
	case got := <-polled:
		// The engine answers a pending GET with the close packet "1".
		if !slices.Contains(strings.Split(got, "\x1e"), "1") {
			t.Errorf("pending poll got %q, want the close packet", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pending poll not answered")
	}
	notListening(t, hostPort(t, b.socketIO))
	notListening(t, hostPort(t, b.nats))
	for _, w := range []string{"msg=serving", "msg=\"signal received: draining\"", "msg=stopped"} {
		if !strings.Contains(r.stderr.String(), w) {
			t.Errorf("logs lack %s:\n%s", w, r.stderr.String())
		}
	}
}

// TestDevAdminAddr: with --admin-addr the admin endpoints move there, and
// during the drain /readyz answers 503 while /healthz stays 200.
func TestDevAdminAddr(t *testing.T) {
	noLeaks(t)
	r := start(t, "dev", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--nats-listen", "127.0.0.1:0", "--drain-delay", "1500ms", "--log-format", "json", "--demo-handlers=false")
	b := r.waitBanner(t)
	c := newHTTPClient(t)
	if b.admin+"/socket.io/" == b.socketIO {
		t.Fatalf("admin endpoints still on --addr: %q", b.admin)
	}
	mainBase := strings.TrimSuffix(b.socketIO, "/socket.io/")
	if status, _ := get(t, c, mainBase+"/metrics"); status != http.StatusNotFound {
		t.Errorf("/metrics on --addr: %d, want 404", status)
	}
	if status, body := get(t, c, b.admin+"/metrics"); status != http.StatusOK || !strings.Contains(body, "switchboard_engine_sessions") {
		t.Errorf("/metrics on --admin-addr: %d", status)
	}
	if status, _ := get(t, c, b.admin+"/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz: %d", status)
	}
	// The logs are JSON lines.
	line, _, _ := strings.Cut(r.stderr.String(), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] != "serving" {
		t.Errorf("first log line is not JSON: %q", line)
	}

	r.cancel() // the signal
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		status, body, err := getStatus(c, b.admin+"/readyz")
		if err != nil {
			return err
		}
		var rep readyReport
		if status != http.StatusServiceUnavailable || json.Unmarshal([]byte(body), &rep) != nil || rep.Checks["server"] != "shutting down" {
			return errorf("readyz %d %s", status, body)
		}
		return nil
	})
	if status, _, err := getStatus(c, b.admin+"/healthz"); err != nil || status != http.StatusOK {
		t.Errorf("/healthz during drain: %d %v", status, err)
	}
	if err := r.stop(t, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	notListening(t, hostPort(t, b.admin))
}

// TestDevNATSPortBusy: when the --nats-listen port is taken, dev uses
// another one and says so.
func TestDevNATSPortBusy(t *testing.T) {
	noLeaks(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	r := start(t, "dev", "--addr", "127.0.0.1:0", "--nats-listen", busy.Addr().String())
	b := r.waitBanner(t)
	if hostPort(t, b.nats) == busy.Addr().String() || !strings.HasPrefix(b.nats, "nats://127.0.0.1:") {
		t.Fatalf("NATS URL %q, want another port than %s", b.nats, busy.Addr())
	}
	if !strings.Contains(r.stderr.String(), "requested port unavailable") {
		t.Errorf("no warning about the busy port:\n%s", r.stderr.String())
	}
	nc, err := nats.Connect(b.nats, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("nats %s: %v", b.nats, err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if err := r.stop(t, 15*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestDevAddrBusy: a taken --addr fails the command and leaves nothing
// running (the embedded NATS server included).
func TestDevAddrBusy(t *testing.T) {
	noLeaks(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	natsAddr := freeAddr(t)
	_, _, err = runArgs(t, 10*time.Second, "dev", "--addr", busy.Addr().String(), "--nats-listen", natsAddr)
	if err == nil || !strings.Contains(err.Error(), "--addr: listen tcp") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("error %v", err)
	}
	if got := exitStatus(new(testutil.SyncBuffer), err); got != 1 {
		t.Errorf("exit status %d, want 1", got)
	}
	notListening(t, natsAddr)
}

// TestDevWebSocket: a WebSocket client gets the demo handlers, shows in the
// metrics, and is disconnected by the drain.
func TestDevWebSocket(t *testing.T) {
	noLeaks(t)
	r := start(t, "dev", "--addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	b := r.waitBanner(t)
	c := newHTTPClient(t)

	wsURL := "ws" + strings.TrimPrefix(b.socketIO, "http") + "?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	read := func() string {
		t.Helper()
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(msg)
	}
	if open := read(); !strings.HasPrefix(open, `0{"sid":"`) {
		t.Fatalf("open packet %q", open)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		t.Fatal(err)
	}
	if pk := read(); !strings.HasPrefix(pk, "40{") {
		t.Fatalf("connect reply %q", pk)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`427["echo","hi",{"n":1}]`)); err != nil {
		t.Fatal(err)
	}
	if pk := read(); pk != `437["hi",{"n":1}]` {
		t.Fatalf("echo ack %q", pk)
	}
	_, body := get(t, c, b.admin+"/metrics")
	if !strings.Contains(body, `switchboard_engine_sessions{transport="websocket"} 1`) {
		t.Errorf("/metrics lacks the websocket session")
	}

	r.cancel() // the signal
	// The drain ends the connection: reads fail before the read deadline.
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("connection still open after the drain")
			}
			break
		}
	}
	if err := r.stop(t, 15*time.Second); err != nil {
		t.Fatal(err)
	}
}
