// Package itest tests the shipped binary as a black box: several
// `switchboard edge` processes on loopback ports, a real nats-server (in
// this process, on a random port) and a real redis-server (a private
// process on a free port), clients that talk the wire protocol.
package itest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/internal/sioclient"
	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
	"github.com/switchboard-rt/switchboard/internal/testutil/redistest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-itest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/switchboard")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "itest: build:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's cluster: its NATS, its Redis, its edges.
type env struct {
	t       *testing.T
	adapter string
	nats    string
	redis   *redistest.Server
	nc      *nats.Conn
	edges   []*edgeProc
}

type edgeProc struct {
	id   string
	addr string // host:port
	cmd  *exec.Cmd
	log  *testutil.SyncBuffer
	done chan struct{}
}

func (e *edgeProc) url() string { return "http://" + e.addr }

// newEnv starts NATS, Redis and n edges using adapter.
func newEnv(t *testing.T, adapter string, n int, extra ...string) *env {
	t.Helper()
	ns := natstest.Start(t, nil)
	e := &env{t: t, adapter: adapter, nats: ns.ClientURL(), redis: redistest.Start(t)}
	e.nc = natstest.Connect(t, e.nats)
	for i := range n {
		e.startEdge(fmt.Sprintf("e%d", i+1), extra...)
	}
	return e
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startEdge starts one edge process and waits until it is ready.
func (e *env) startEdge(id string, extra ...string) *edgeProc {
	t := e.t
	t.Helper()
	p := &edgeProc{id: id, addr: freeAddr(t), log: &testutil.SyncBuffer{}, done: make(chan struct{})}
	args := append([]string{"edge",
		"--addr", p.addr, "--node-id", id,
		"--nats-url", e.nats, "--redis-url", e.redis.URL(),
		"--adapter", e.adapter, "--request-timeout", "1s",
		"--demo-handlers", "--namespace", "/chat",
		"--presence-ttl", "3s", "--presence-heartbeat", "1s",
		"--shutdown-timeout", "2s", "--log-level", "debug",
	}, extra...)
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("edge %s log:\n%s", p.id, p.log.String())
		}
	})
	e.edges = append(e.edges, p)
	e.waitReady(p)
	return p
}

// kill stops the process with sig and waits for it (SIGKILL after 5s).
func (p *edgeProc) kill(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (e *env) waitReady(p *edgeProc) {
	e.t.Helper()
	client := &http.Client{Timeout: time.Second}
	testutil.CheckFor(e.t, 20*time.Second, 20*time.Millisecond, func() error {
		select {
		case <-p.done:
			e.t.Fatalf("edge %s exited:\n%s", p.id, p.log.String())
		default:
		}
		resp, err := client.Get(p.url() + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
}

// client connects a Go Socket.IO client to edge i and namespace ns.
func (e *env) client(i int, ns string) (*sioclient.Client, string) {
	e.t.Helper()
	return e.clientAuth(i, ns, nil)
}

// clientAuth is client with an auth payload in the CONNECT.
func (e *env) clientAuth(i int, ns string, auth any) (*sioclient.Client, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, e.edges[i].url())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	sid, err := c.Connect(ctx, ns, auth)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, sid
}

// join makes c join room through the demo "join" handler.
func join(t *testing.T, c *sioclient.Client, ns, room string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.EmitWithAck(ctx, ns, "join", room); err != nil {
		t.Fatal(err)
	}
}

// next waits for the next event named event (other events are skipped).
func next(t *testing.T, c *sioclient.Client, event string) sioclient.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := c.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for %q: %v", event, err)
		}
		if m.Event == event {
			return m
		}
	}
}

// none asserts that c gets no event named event for d.
func none(t *testing.T, c *sioclient.Client, event string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := c.Next(time.Until(deadline))
		if err != nil {
			return
		}
		if m.Event == event {
			t.Fatalf("unexpected %q %s", event, m.Args)
		}
	}
}

// command sends a P.cmd.<name> request and decodes the reply into out.
func (e *env) command(name string, body any, out any) {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := e.nc.Request("sb.cmd."+name, b, 10*time.Second)
	if err != nil {
		e.t.Fatalf("sb.cmd.%s: %v", name, err)
	}
	if err := json.Unmarshal(m.Data, out); err != nil {
		e.t.Fatalf("sb.cmd.%s reply %s: %v", name, m.Data, err)
	}
}
