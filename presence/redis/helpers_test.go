package redis_test

// Helpers of the Redis-specific tests: a test world, metrics, a TCP proxy.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/redistest"
	"github.com/switchboard-rt/switchboard/presence"
	"github.com/switchboard-rt/switchboard/presence/presencetest"
	presenceredis "github.com/switchboard-rt/switchboard/presence/redis"
)

const (
	ttl       = time.Second
	heartbeat = 200 * time.Millisecond
)

// world is one test's server, cluster and recorder.
type world struct {
	*testing.T
	srv *redistest.Server
	h   cluster
	rec *presencetest.Recorder
}

func newWorld(t *testing.T) *world {
	t.Cleanup(func() { testutil.NoLeaks(t, presencetest.Module) })
	srv := redistest.Start(t)
	return &world{T: t, srv: srv, h: newCluster(srv), rec: &presencetest.Recorder{}}
}

// cfg is node id's configuration: short leases, events recorded, logs in
// the test's output.
func (w *world) cfg(id string) presence.Config {
	return presence.Config{
		NodeID: id, TTL: ttl, Heartbeat: heartbeat, OnEvent: w.rec.Hook(id),
		Logger: slog.New(slog.NewTextHandler(testLog{w.T}, nil)),
	}
}

// testLog writes log lines to a test's output.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(string(b))
	return len(b), nil
}

func (w *world) node(id string) *presenceredis.Tracker {
	w.Helper()
	return w.h.start(w, w.cfg(id), w.h.client(w))
}

func (w *world) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	w.Cleanup(cancel)
	return ctx
}

func (w *world) must(err error) {
	w.Helper()
	if err != nil {
		w.Fatal(err)
	}
}

func (w *world) sync(ts ...*presenceredis.Tracker) {
	w.Helper()
	for _, t := range ts {
		w.must(t.Sync(w.ctx()))
	}
}

// populate connects n sockets "<prefix>i" of user "<prefix>-user" in rooms.
func (w *world) populate(t presence.Tracker, prefix string, n int, rooms ...string) {
	w.Helper()
	for i := range n {
		sid := fmt.Sprintf("%s%d", prefix, i)
		w.must(t.Connect("/", presence.Member{SID: sid, User: prefix + "-user"}))
		w.must(t.Join("/", sid, rooms...))
	}
}

// counts polls until room has members sockets.
func (w *world) waitCounts(r presence.Reader, room string, members, users int64) {
	w.Helper()
	testutil.CheckFor(w, 5*time.Second, 10*time.Millisecond, func() error {
		c, err := r.Counts(w.ctx(), "/", room)
		if err != nil {
			return err
		}
		if c != (presence.Counts{Members: members, Users: users}) {
			return fmt.Errorf("room %q: %+v, want %d members, %d users", room, c, members, users)
		}
		return nil
	})
}

func (w *world) events(a presence.Action, room string) int {
	return len(w.rec.Find(presencetest.Is(a, "/", room, "")))
}

type metrics struct {
	presence.NopMetrics
	mu       sync.Mutex
	rebuilds map[string]int
}

func (m *metrics) Rebuilt(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rebuilds == nil {
		m.rebuilds = make(map[string]int)
	}
	m.rebuilds[reason]++
}

func (m *metrics) rebuilt(reason string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rebuilds[reason]
}

// proxy forwards TCP to Redis until cut: then it drops the connections and
// lets new ones hang (a partition), until healed.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu      sync.Mutex
	down    bool
	swallow bool // drop Redis's replies
	conns   map[net.Conn]struct{}
}

func startProxy(tb testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(func() {
		_ = ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns[c] = struct{}{}
		down := p.down
		p.mu.Unlock()
		if down {
			continue // hangs until heal or cleanup closes it
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[u] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, u, true)
		go p.pipe(u, c, false)
	}
}

func (p *proxy) pipe(dst, src net.Conn, replies bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		drop := replies && p.swallow
		p.mu.Unlock()
		if n > 0 && !drop {
			if _, err := dst.Write(buf[:n]); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
}

// swallowReplies makes Redis's replies vanish (the commands still run).
func (p *proxy) swallowReplies() {
	p.mu.Lock()
	p.swallow = true
	p.mu.Unlock()
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *proxy) cut() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.closeAll()
}

func (p *proxy) heal() {
	p.mu.Lock()
	p.down, p.swallow = false, false
	p.mu.Unlock()
	p.closeAll()
}
