// The tests of the examples run them as a user would: a `switchboard dev`
// process (an edge with an embedded NATS, on loopback ports it chooses), a
// chat service (the Go one in-process or as its binary, or the Node.js one),
// and the Node.js client script with the real socket.io-client.
package examples_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/examples/chat/chatsvc"
	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/service"
)

// The chat services under test: prepare installs or builds what start
// needs; start runs one on the NATS at natsURL and returns once it is
// subscribed.
type chatService struct {
	name    string
	prepare func(t *testing.T)
	start   func(t *testing.T, ctx context.Context, natsURL string) *proc // nil when in-process
}

var (
	goBinary = chatService{"go-binary",
		func(t *testing.T) { binary(t, "examples/chat") },
		func(t *testing.T, ctx context.Context, natsURL string) *proc {
			p := start(t, ctx, "chat (Go)", ".", true, binary(t, "examples/chat"), "--nats-url", natsURL)
			p.waitFor(t, ctx, reReady)
			return p
		}}
	nodeService = chatService{"node",
		func(t *testing.T) { nodeModules(t, "examples/node-service", "nats") },
		func(t *testing.T, ctx context.Context, natsURL string) *proc {
			p := start(t, ctx, "chat (Node.js)", "examples/node-service", true, "node", "service.mjs", "--nats-url", natsURL)
			p.waitFor(t, ctx, reReady)
			return p
		}}
	chatServices = []chatService{
		{"go-in-process", func(*testing.T) {}, func(t *testing.T, _ context.Context, natsURL string) *proc {
			startGoService(t, natsURL)
			return nil
		}},
		goBinary,
		nodeService,
	}
)

// startGoService runs package chatsvc in this process, as examples/chat does.
func startGoService(t *testing.T, natsURL string) {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	var logs testutil.SyncBuffer
	c, err := service.New(nc, service.Options{Queue: "chat", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			t.Errorf("service shutdown: %v", err)
		}
		nc.Close()
		if t.Failed() {
			t.Logf("chat (Go, in-process) log:\n%s", logs.String())
		}
	})
	if err := chatsvc.Register(c, chatsvc.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// clientLine is one JSON line of examples/client/chat-client.mjs.
type clientLine struct {
	Client string           `json:"client"`
	Event  string           `json:"event"` // connect, ack, message, disconnect
	ID     string           `json:"id"`    // connect
	Of     string           `json:"of"`    // ack: the event acknowledged
	Args   json.RawMessage  `json:"args"`  // ack: the event's arguments
	Ack    json.RawMessage  `json:"ack"`   // ack: the ack's argument
	Msg    *chatsvc.Message `json:"msg"`   // message
	OK     *bool            `json:"ok"`    // the last line
	Error  string           `json:"error"`
}

// TestChat runs the seed flow of the client script through a dev edge with
// each chat service: createRoom is acked {id, status: "ok"}, and a message
// reaches both clients.
func TestChat(t *testing.T) {
	for _, svc := range chatServices {
		t.Run(svc.name, func(t *testing.T) {
			t.Parallel()
			nodeModules(t, "itest/js", "socket.io-client")
			binary(t, "cmd/switchboard")
			svc.prepare(t)
			ctx := testContext(t)
			began := time.Now()
			d := startDev(t, ctx)
			svc.start(t, ctx, d.nats)
			ready := time.Now()

			cmd := exec.CommandContext(ctx, "node", "examples/client/chat-client.mjs", "--url", d.socketIO, "--timeout", "10000")
			cmd.Dir = repoRoot()
			cmd.WaitDelay = stopTimeout
			var stderr testutil.SyncBuffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			t.Logf("dev and service ready in %v, client ran in %v", ready.Sub(began).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
			if err != nil {
				t.Errorf("client: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
			}
			checkClientOutput(t, string(out))
		})
	}
}

// checkClientOutput checks what the client script observed, independently of
// its own checks.
func checkClientOutput(t *testing.T, out string) {
	t.Helper()
	var ls []clientLine
	for _, l := range lines(out) {
		var cl clientLine
		if err := json.Unmarshal([]byte(l), &cl); err != nil {
			t.Fatalf("client printed %q: %v", l, err)
		}
		ls = append(ls, cl)
	}
	if len(ls) == 0 {
		t.Fatal("the client printed nothing")
	}
	if last := ls[len(ls)-1]; last.OK == nil || !*last.OK {
		t.Fatalf("client failed: %s", last.Error)
	}
	ids := map[string]string{}
	var created bool
	got := map[string]*chatsvc.Message{}
	for _, l := range ls {
		switch {
		case l.Event == "connect":
			ids[l.Client] = l.ID
		case l.Event == "ack" && l.Of == "createRoom" && string(l.Args) == `[{"name":"general"}]`:
			created = true
			if string(l.Ack) != `{"id":"room-general","status":"ok"}` {
				t.Errorf("createRoom({name: \"general\"}) acked %s", l.Ack)
			}
		case l.Event == "message":
			if got[l.Client] != nil {
				t.Errorf("%s received a second message: %+v", l.Client, l.Msg)
			}
			got[l.Client] = l.Msg
		}
	}
	if !created {
		t.Error("no ack of createRoom({name: \"general\"})")
	}
	for _, c := range []string{"A", "B"} {
		m := got[c]
		if m == nil {
			t.Errorf("%s received no message", c)
			continue
		}
		if m.Room != "general" || m.Text != "hi" || m.From != ids["A"] || m.From == "" ||
			time.Since(time.UnixMilli(m.At)).Abs() > time.Minute {
			t.Errorf("%s received %+v; want room general, text hi, from %q, at about now", c, m, ids["A"])
		}
	}
	if t.Failed() {
		t.Logf("client output:\n%s", out)
	}
}

// TestClientFailsWithoutService: the client script's exit code tells; with
// no service, createRoom is acked with no_responders and the script fails.
func TestClientFailsWithoutService(t *testing.T) {
	t.Parallel()
	nodeModules(t, "itest/js", "socket.io-client")
	binary(t, "cmd/switchboard")
	ctx := testContext(t)
	d := startDev(t, ctx)
	cmd := exec.CommandContext(ctx, "node", "examples/client/chat-client.mjs", "--url", d.socketIO, "--timeout", "10000")
	cmd.Dir = repoRoot()
	cmd.WaitDelay = stopTimeout
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("client: %v, want exit code 1\n%s", err, out)
	}
	ls := lines(string(out))
	if len(ls) == 0 || !strings.Contains(ls[len(ls)-1], `"ok":false`) || !strings.Contains(ls[len(ls)-1], "no_responders") {
		t.Fatalf("client output:\n%s", out)
	}
}

// TestServicesStopWithoutNATS: a service whose NATS went away still stops
// promptly and cleanly on SIGTERM.
func TestServicesStopWithoutNATS(t *testing.T) {
	for _, svc := range []chatService{goBinary, nodeService} {
		t.Run(svc.name, func(t *testing.T) {
			t.Parallel()
			binary(t, "cmd/switchboard")
			svc.prepare(t)
			ctx := testContext(t)
			d := startDev(t, ctx)
			p := svc.start(t, ctx, d.nats)
			if st := d.proc.stop(); !st.Success() {
				t.Logf("dev exited with %v", st)
			}
			began := time.Now()
			st := p.stop()
			if took := time.Since(began); !st.Success() || took > 5*time.Second {
				t.Errorf("stopped in %v with %v; want a clean exit within 5s", took, st)
			}
		})
	}
}
