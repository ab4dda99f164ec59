package redis

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// nodePeer drives itest/js/busredis/peer.mjs: a Node.js socket.io server with
// @socket.io/redis-adapter, an emitter and a client.
type nodePeer struct {
	t      *testing.T
	stdin  io.WriteCloser
	events chan map[string]any
	sid    string // the Node client's socket id

	mu      sync.Mutex
	nextID  int
	results map[int]chan map[string]any
	stderr  bytes.Buffer
}

// startNodePeer runs peer.mjs against the cluster's Redis. The test fails (not skips) without
// node or the npm packages: CI installs them with `npm ci` in itest/js.
func startNodePeer(t *testing.T, c *cluster) *nodePeer {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "itest", "js")
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the interop test: %v", err)
	}
	for _, m := range []string{"socket.io", "socket.io-client", "@socket.io/redis-adapter", "@socket.io/redis-emitter", "redis"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m)); err != nil {
			t.Fatalf("npm package %s missing (run `npm ci` in itest/js): %v", m, err)
		}
	}
	cmd := exec.Command(nodeBin, filepath.Join("busredis", "peer.mjs"), "--redis", c.srv.URL(), "--key", c.key)
	cmd.Dir = dir
	p := &nodePeer{t: t, events: make(chan map[string]any, 100), results: map[int]chan map[string]any{}}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	t.Cleanup(func() {
		_ = p.stdin.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		<-readDone
		if t.Failed() {
			p.mu.Lock()
			t.Logf("node stderr:\n%s", p.stderr.String())
			p.mu.Unlock()
		}
	})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			if id, ok := m["id"].(float64); ok {
				p.mu.Lock()
				ch := p.results[int(id)]
				p.mu.Unlock()
				if ch != nil {
					ch <- m
				}
				continue
			}
			select {
			case p.events <- m:
			default:
			}
		}
	}()
	ev := p.waitEvent("ready", "", 15*time.Second)
	p.sid, _ = ev["sid"].(string)
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// do runs a command and returns its result and duration in ms.
func (p *nodePeer) do(cmd map[string]any) (any, float64) {
	p.t.Helper()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	ch := make(chan map[string]any, 1)
	p.results[id] = ch
	p.mu.Unlock()
	cmd["id"] = id
	line, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		p.t.Fatalf("node command %s: %v", line, err)
	}
	select {
	case r := <-ch:
		if r["ok"] != true {
			p.t.Fatalf("node command %s failed: %v", line, r["error"])
		}
		ms, _ := r["ms"].(float64)
		return r["result"], ms
	case <-time.After(15 * time.Second):
		p.t.Fatalf("node command %s: no result", line)
	}
	return nil, 0
}

// waitEvent waits for an event of kind (and name, when not empty).
func (p *nodePeer) waitEvent(kind, name string, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-p.events:
			if m["event"] == kind && (name == "" || m["name"] == name) {
				return m
			}
		case <-deadline:
			p.t.Fatalf("no %s event %q from node", kind, name)
			return nil
		}
	}
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestInteropNode runs a Go node and a Node.js socket.io server with @socket.io/redis-adapter
// (and the emitter) on one Redis, and checks each direction of every operation.
func TestInteropNode(t *testing.T) {
	c := newCluster(t)
	a := c.node("go1")
	l := newLocal("gs1", "go-room")
	l.sockets = []bus.SocketInfo{{ID: "gs1", Rooms: []string{"gs1", "go-room"}, Data: json.RawMessage(`{"from":"go"}`),
		Handshake: json.RawMessage(`{"address":"10.0.0.1","auth":{},"query":{"EIO":"4"}}`)}}
	l.emitReply = &bus.Message{Data: json.RawMessage(`["pong-from-go"]`)}
	l.ackClients = 1
	l.ackValue = func(int) bus.Message { return bus.Message{Data: json.RawMessage(`["go-client-answer"]`)} }
	ns := attach(t, a, "/", l)
	p := startNodePeer(t, c)
	ctx := ctxT(t, 60*time.Second)
	fast := func(what string, ms float64) {
		t.Helper()
		t.Logf("Node's %s answered in %v ms", what, ms)
		if ms > 1500 {
			t.Errorf("%s took %v ms on the Node side (its requestsTimeout is 5000 ms)", what, ms)
		}
	}

	// Node counts servers with NUMSUB: the Go node holds exactly one subscription.
	if n, _ := p.do(map[string]any{"cmd": "serverCount"}); n != float64(2) {
		t.Fatalf("Node's serverCount: %v, want 2", n)
	}

	// (a) io.to(room).emit on Node reaches Local.Broadcast, binary included.
	p.do(map[string]any{"cmd": "emit", "rooms": []string{"go-room"}, "ev": "to-go", "args": []any{1, map[string]any{"a": true}, map[string]any{"$bin": "0102"}}})
	got := l.waitBroadcast(t, `["to-go",1,{"a":true},{"_placeholder":true,"num":0}]`)
	if !slices.Equal(got.Rooms, []string{"go-room"}) || len(got.Attachments) != 1 || !bytes.Equal(got.Attachments[0], []byte{1, 2}) {
		t.Errorf("Node broadcast as received: %+v", got)
	}

	// (b) a Go Publish reaches the socket.io-client connected to Node.
	if err := ns.Publish(ctx, &bus.Broadcast{Selector: bus.Selector{Rooms: []string{"node-room"}},
		Message: bus.Message{Data: json.RawMessage(`["from-go","x",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xca, 0xfe}}}}); err != nil {
		t.Fatal(err)
	}
	ev := p.waitEvent("client", "from-go", 5*time.Second)
	if s := asJSON(ev["args"]); s != `["x",{"$bin":"cafe"}]` {
		t.Errorf("client got from-go %s", s)
	}

	// (c) Node's requests, answered by Go well within requestsTimeout.
	res, ms := p.do(map[string]any{"cmd": "fetchSockets"})
	fast("fetchSockets", ms)
	if s := asJSON(res); !strings.Contains(s, `"id":"gs1"`) || !strings.Contains(s, `"data":{"from":"go"}`) ||
		!strings.Contains(s, `"address":"10.0.0.1"`) || !strings.Contains(s, p.sid) {
		t.Errorf("Node's fetchSockets: %s", s)
	}
	res, ms = p.do(map[string]any{"cmd": "fetchSockets", "rooms": []string{"go-room"}})
	fast("fetchSockets(go-room)", ms)
	if s := asJSON(res); !strings.Contains(s, `"id":"gs1"`) || strings.Contains(s, p.sid) {
		t.Errorf("Node's fetchSockets(go-room): %s", s)
	}
	res, ms = p.do(map[string]any{"cmd": "serverSideEmitWithAck", "ev": "ping-go", "args": []any{5}})
	fast("serverSideEmitWithAck", ms)
	if s := asJSON(res); s != `["pong-from-go"]` {
		t.Errorf("Node's serverSideEmitWithAck: %s", s)
	}
	res, ms = p.do(map[string]any{"cmd": "allRooms"})
	fast("allRooms", ms)
	if s := asJSON(res); !strings.Contains(s, `"go-room"`) || !strings.Contains(s, `"node-room"`) {
		t.Errorf("Node's allRooms: %s", s)
	}
	res, ms = p.do(map[string]any{"cmd": "emitWithAck", "rooms": []string{"go-room"}, "timeout": 3000, "ev": "ask-go", "args": []any{"q"}})
	fast("emitWithAck", ms)
	if s := asJSON(res); s != `{"err":null,"responses":["go-client-answer"]}` {
		t.Errorf("Node's broadcast with acks: %s", s)
	}
	p.do(map[string]any{"cmd": "serverSideEmit", "ev": "hello-go", "args": []any{42}})
	p.do(map[string]any{"cmd": "socketsJoin", "in": "go-room", "rooms": []string{"joined"}})
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		s := l.snapshot()
		if !slices.ContainsFunc(s.emits, func(m bus.Message) bool { return string(m.Data) == `["hello-go",42]` }) {
			return fmt.Errorf("serverSideEmit not received: %+v", s.emits)
		}
		if !slices.ContainsFunc(s.joins, func(r roomCall) bool {
			return slices.Equal(r.Sel.Rooms, []string{"go-room"}) && slices.Equal(r.Rooms, []string{"joined"})
		}) {
			return fmt.Errorf("socketsJoin not applied: %+v", s.joins)
		}
		return nil
	})

	// (d) Go's requests, answered by Node.
	socks, r, err := ns.FetchSockets(ctx, bus.Selector{})
	if err != nil || r.Answered != 1 || len(r.Missing) != 0 || len(socks) != 1 || socks[0].ID != p.sid ||
		!slices.Contains(socks[0].Rooms, "node-room") || !jsonEq(socks[0].Data, json.RawMessage(`{"from":"node"}`)) ||
		!strings.Contains(string(socks[0].Handshake), `"headers"`) {
		t.Errorf("Go's FetchSockets: %+v %+v %v", socks, r, err)
	}
	rooms, r, err := ns.AllRooms(ctx)
	if err != nil || r.Answered != 1 || !slices.Contains(rooms, "node-room") || !slices.Contains(rooms, p.sid) {
		t.Errorf("Go's AllRooms: %v %+v %v", rooms, r, err)
	}
	var replies []string
	r, err = ns.ServerSideEmit(ctx, bus.Message{Data: json.RawMessage(`["ping-node","hi"]`)}, func(m bus.Message) { replies = append(replies, string(m.Data)) })
	if err != nil || r.Answered != 1 || !slices.Equal(replies, []string{`["pong-from-node:hi"]`}) {
		t.Errorf("Go's ServerSideEmit with reply: %v %+v %v", replies, r, err)
	}
	if _, err := ns.ServerSideEmit(ctx, bus.Message{Data: json.RawMessage(`["hello-node",1,"two"]`)}, nil); err != nil {
		t.Fatal(err)
	}
	if ev := p.waitEvent("sse", "hello-node", 5*time.Second); asJSON(ev["args"]) != `[1,"two"]` {
		t.Errorf("Node got hello-node %v", ev["args"])
	}
	var counts []int
	var acks []string
	start := time.Now()
	r, err = ns.PublishWithAck(ctx, &bus.Broadcast{Selector: bus.Selector{Rooms: []string{"node-room"}},
		Message: bus.Message{Data: json.RawMessage(`["ask-node","q2"]`)}}, 3*time.Second,
		func(n int) { counts = append(counts, n) }, func(m bus.Message) { acks = append(acks, string(m.Data)) })
	if err != nil || r.Answered != 1 || !slices.Equal(counts, []int{1}) || !slices.Equal(acks, []string{`["client-answer:q2"]`}) ||
		time.Since(start) > 2*time.Second {
		t.Errorf("Go's PublishWithAck: counts %v acks %v %+v %v after %v", counts, acks, r, err, time.Since(start))
	}
	// Node applies a Go join without answering it: reported as an anonymous missing peer.
	n, r, err := ns.Join(ctx, bus.Selector{Rooms: []string{"node-room"}}, []string{"go-joined"})
	if err != nil || n != 0 || r.Answered != 0 || !slices.Equal(r.Missing, []string{"unknown-1"}) {
		t.Errorf("Go's Join: %d %+v %v", n, r, err)
	}
	testutil.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		res, _ := p.do(map[string]any{"cmd": "clientRooms"})
		if !strings.Contains(asJSON(res), `"go-joined"`) {
			return fmt.Errorf("client rooms on Node: %v", res)
		}
		return nil
	})

	// (e) the emitter reaches Go: emit, socketsJoin, serverSideEmit.
	p.do(map[string]any{"cmd": "emitterEmit", "rooms": []string{"go-room"}, "ev": "from-emitter", "args": []any{"e1", map[string]any{"$bin": "ff"}}})
	got = l.waitBroadcast(t, `["from-emitter","e1",{"_placeholder":true,"num":0}]`)
	if len(got.Attachments) != 1 || got.Attachments[0][0] != 0xff || !slices.Equal(got.Rooms, []string{"go-room"}) {
		t.Errorf("emitter broadcast: %+v", got)
	}
	p.do(map[string]any{"cmd": "emitterJoin", "in": "go-room", "rooms": []string{"emitter-joined"}})
	p.do(map[string]any{"cmd": "emitterServerSideEmit", "ev": "hello-go", "args": []any{"from-emitter"}})
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		s := l.snapshot()
		if !slices.ContainsFunc(s.joins, func(r roomCall) bool { return slices.Equal(r.Rooms, []string{"emitter-joined"}) }) {
			return fmt.Errorf("emitter socketsJoin not applied: %+v", s.joins)
		}
		if !slices.ContainsFunc(s.emits, func(m bus.Message) bool { return string(m.Data) == `["hello-go","from-emitter"]` }) {
			return fmt.Errorf("emitter serverSideEmit not received: %+v", s.emits)
		}
		return nil
	})
}
