package loadtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeServer is a minimal Socket.IO server over WebSocket implementing the
// benchmark contract, written independently of the client's codec: it
// accepts any namespace except "/nope", pings once after each connect and
// counts the pongs.
type fakeServer struct {
	URL   string
	srv   *httptest.Server
	pongs atomic.Int64
	wg    sync.WaitGroup
	// dropSender makes the server close a connection that sends "broadcast".
	dropSender atomic.Bool

	mu      sync.Mutex
	conns   map[*fakeConn]struct{}
	rooms   map[string][]*fakeConn
	remotes map[string]int // remote IP → connections
}

type fakeConn struct {
	ws *websocket.Conn
	mu sync.Mutex
}

func (c *fakeConn) send(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

// startFake starts a fake server; stop closes it and waits for its goroutines.
func startFake() (s *fakeServer, stop func()) {
	s = &fakeServer{
		conns:   map[*fakeConn]struct{}{},
		rooms:   map[string][]*fakeConn{},
		remotes: map[string]int{},
	}
	up := websocket.Upgrader{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/socket.io/" || q.Get("EIO") != "4" || q.Get("transport") != "websocket" {
			http.Error(w, `{"code":0,"message":"Transport unknown"}`, http.StatusBadRequest)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.wg.Add(1)
		defer s.wg.Done()
		s.serve(ws)
	}))
	s.URL = s.srv.URL
	return s, func() {
		s.srv.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.ws.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	}
}

func (s *fakeServer) serve(ws *websocket.Conn) {
	c := &fakeConn{ws: ws}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	host, _, _ := net.SplitHostPort(ws.RemoteAddr().String())
	s.remotes[host]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		ws.Close()
	}()
	c.send(`0{"sid":"fake-sid","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return
		}
		m := string(b)
		switch {
		case m == "3":
			s.pongs.Add(1)
		case strings.HasPrefix(m, "40"):
			nsp, _ := splitNsp(m[2:])
			if nsp == "/nope" {
				c.send("44/nope," + `{"message":"Invalid namespace"}`)
				continue
			}
			c.send("40" + nspPart(nsp) + `{"sid":"socket-id"}`)
			c.send("2")
		case strings.HasPrefix(m, "42"):
			s.onEvent(c, m[2:])
		}
	}
}

// splitNsp splits "/chat,rest" into "/chat" and "rest"; no namespace is "/".
func splitNsp(m string) (nsp, rest string) {
	if !strings.HasPrefix(m, "/") {
		return "/", m
	}
	if i := strings.IndexByte(m, ','); i >= 0 {
		return m[:i], m[i+1:]
	}
	return m, ""
}

func nspPart(nsp string) string {
	if nsp == "/" {
		return ""
	}
	return nsp + ","
}

func (s *fakeServer) onEvent(c *fakeConn, m string) {
	nsp, m := splitNsp(m)
	i := strings.IndexByte(m, '[')
	if i < 0 {
		return
	}
	id := m[:i]
	var args []json.RawMessage
	if json.Unmarshal([]byte(m[i:]), &args) != nil || len(args) == 0 {
		return
	}
	var name, room string
	json.Unmarshal(args[0], &name)
	if len(args) > 1 {
		json.Unmarshal(args[1], &room)
	}
	room = nsp + "#" + room
	switch name {
	case "join":
		s.mu.Lock()
		s.rooms[room] = append(s.rooms[room], c)
		s.mu.Unlock()
		c.send("43" + nspPart(nsp) + id + "[true]")
	case "broadcast":
		if s.dropSender.Load() {
			c.ws.Close()
			return
		}
		s.mu.Lock()
		members := append([]*fakeConn(nil), s.rooms[room]...)
		s.mu.Unlock()
		frame := `42` + nspPart(nsp) + `["msg",` + string(args[2]) + `]`
		for _, mc := range members {
			mc.send(frame)
		}
	case "echo":
		rest := make([]string, 0, len(args)-1)
		for _, a := range args[1:] {
			rest = append(rest, string(a))
		}
		c.send("43" + nspPart(nsp) + id + "[" + strings.Join(rest, ",") + "]")
	}
}

func (s *fakeServer) remoteCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.remotes))
	for k, v := range s.remotes {
		out[k] = v
	}
	return out
}

// newFake starts a fake server for t and stops it in cleanup.
func newFake(t testing.TB) *fakeServer {
	t.Helper()
	s, stop := startFake()
	t.Cleanup(stop)
	return s
}

// checkFor polls f every interval until it returns nil or timeout passes.
func checkFor(t testing.TB, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(interval)
	}
}

// noLeaks fails t if, after its other cleanups, goroutines remain beyond
// those running when noLeaks was called. Call it first in a test.
func noLeaks(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		checkFor(t, 3*time.Second, 10*time.Millisecond, func() error {
			if n := runtime.NumGoroutine(); n > base {
				return fmt.Errorf("%d goroutines leaked", n-base)
			}
			return nil
		})
	})
}

// testConfig is a small, fast Config against s. On Linux the test process
// stands in for the server in the /proc samples.
func testConfig(s *fakeServer, clients int) Config {
	cfg := Config{
		URLs:           []string{s.URL},
		Clients:        clients,
		ConnectRate:    -1,
		ConnectTimeout: 3 * time.Second,
	}
	if runtime.GOOS == "linux" {
		cfg.ServerPIDs = []int{os.Getpid()}
	}
	return cfg
}
