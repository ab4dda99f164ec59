package edge

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/edge/engine"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// fakeClient is an in-process client on a sink session: it records the
// frames the server writes and injects packets as the client.
type fakeClient struct {
	t    testing.TB
	sess *engine.Session

	mu     sync.Mutex
	frames []engine.Frame
	closed bool
}

func newServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.PingInterval == 0 {
		cfg.PingInterval, cfg.PingTimeout = time.Hour, time.Hour
	}
	srv := New(cfg)
	t.Cleanup(func() {
		_ = srv.Shutdown(t.Context())
		testutil.NoLeaks(t, "switchboard/edge/engine.(*Session)")
	})
	return srv
}

func dial(t testing.TB, srv *Server) *fakeClient {
	t.Helper()
	c := &fakeClient{t: t}
	sess, err := srv.eng.OpenSink(nil, func(f []engine.Frame) error {
		c.mu.Lock()
		for _, fr := range f {
			c.frames = append(c.frames, engine.Frame{Data: append([]byte(nil), fr.Data...), Binary: fr.Binary})
		}
		c.mu.Unlock()
		return nil
	}, func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	c.sess = sess
	return c
}

// send injects a Socket.IO text packet (without the Engine.IO "4").
func (c *fakeClient) send(packet string) { c.sess.Deliver([]byte(packet), false) }

func (c *fakeClient) sendBinary(b []byte) { c.sess.Deliver(b, true) }

// expect waits for the next written frame and checks it; text frames are
// compared without their leading "4".
func (c *fakeClient) expect(want string) {
	c.t.Helper()
	got := c.next()
	if got != want {
		c.t.Fatalf("got packet %q, want %q", got, want)
	}
}

// next returns the next frame: text without its "4", binary as "<bin:% x>".
func (c *fakeClient) next() string {
	c.t.Helper()
	var f engine.Frame
	testutil.CheckFor(c.t, 2*time.Second, time.Millisecond, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.frames) == 0 {
			return fmt.Errorf("no packet")
		}
		f = c.frames[0]
		c.frames = c.frames[1:]
		return nil
	})
	if f.Binary {
		return fmt.Sprintf("<bin:% x>", f.Data)
	}
	return strings.TrimPrefix(string(f.Data), "4")
}

// connect joins namespace nsp ("/" or "/x") and returns the socket id.
func (c *fakeClient) connect(nsp string) string {
	c.t.Helper()
	if nsp == "/" {
		c.send("0")
	} else {
		c.send("0" + nsp + ",")
	}
	got := c.next()
	prefix := "0{\"sid\":\""
	if nsp != "/" {
		prefix = "0" + nsp + ",{\"sid\":\""
	}
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("CONNECT reply %q", got)
	}
	return got[len(prefix) : len(prefix)+20]
}

func (c *fakeClient) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *fakeClient) waitClosed() {
	c.t.Helper()
	testutil.CheckFor(c.t, 2*time.Second, time.Millisecond, func() error {
		if !c.isClosed() {
			return fmt.Errorf("connection still open")
		}
		return nil
	})
}

// quiet asserts that nothing more is written for a short while.
func (c *fakeClient) quiet() {
	c.t.Helper()
	time.Sleep(30 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.frames) > 0 {
		c.t.Fatalf("unexpected packet %q", c.frames[0].Data)
	}
}
