package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/internal/sioclient"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
)

// TestDevRoutesEventsToServices checks the services gateway of `dev`: an
// event with no demo handler reaches a service on the embedded NATS, whose
// reply is the client's ack, and a service's emit command reaches the client.
func TestDevRoutesEventsToServices(t *testing.T) {
	r := start(t, "dev", "--addr", freeAddr(t), "--nats-listen", "127.0.0.1:0", "--subject-prefix", "app", "--namespace", "/chat")
	b := r.waitBanner(t)
	nc, err := nats.Connect(b.nats)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.Subscribe("app.ev.chat.createRoom", func(m *nats.Msg) {
		var ev contract.Event
		_ = json.Unmarshal(m.Data, &ev)
		_ = m.Respond([]byte(`{"args":[{"id":"room-1","status":"ok","node":"` + ev.Node + `"}],"join":["general"]}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	_ = nc.Flush()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, strings.TrimSuffix(b.socketIO, "/socket.io/"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Connect(ctx, "/chat", nil); err != nil {
		t.Fatal(err)
	}
	ack, err := c.EmitWithAck(ctx, "/chat", "createRoom", map[string]string{"name": "general"})
	if err != nil {
		t.Fatal(err)
	}
	if string(ack.Args) != `[{"id":"room-1","status":"ok","node":"dev"}]` {
		t.Fatalf("ack %s", ack.Args)
	}
	// The demo handlers still answer their own events.
	if ack, err := c.EmitWithAck(ctx, "/chat", "echo", 1); err != nil || string(ack.Args) != `[1]` {
		t.Fatalf("echo: %s %v", ack.Args, err)
	}
	m, err := nc.Request("app.cmd.emit", []byte(`{"ns":"/chat","rooms":["general"],"event":"msg","args":["hi"]}`), 5*time.Second)
	if err != nil || !strings.Contains(string(m.Data), `"matched":1`) {
		t.Fatalf("emit command: %v %s", err, m.Data)
	}
	if ev, err := c.Next(5 * time.Second); err != nil || ev.Event != "msg" || string(ev.Args) != `["hi"]` {
		t.Fatalf("emitted event %+v %v", ev, err)
	}
}

// TestServiceCommands runs emit, sockets and sub against a dev node.
func TestServiceCommands(t *testing.T) {
	r := start(t, "dev", "--addr", freeAddr(t), "--nats-listen", "127.0.0.1:0")
	b := r.waitBanner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, strings.TrimSuffix(b.socketIO, "/socket.io/"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sid, err := c.Connect(ctx, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EmitWithAck(ctx, "/", "join", "general"); err != nil {
		t.Fatal(err)
	}

	out, _, err := runArgs(t, 10*time.Second, "emit", "--nats-url", b.nats, "--room", "general", "news", `{"a":1}`, "hello", "42")
	if err != nil || !strings.Contains(out, `"matched":1`) {
		t.Fatalf("emit: %v %q", err, out)
	}
	if ev, err := c.Next(5 * time.Second); err != nil || ev.Event != "news" || string(ev.Args) != `[{"a":1},"hello",42]` {
		t.Fatalf("client got %+v %v", ev, err)
	}

	out, _, err = runArgs(t, 10*time.Second, "sockets", "--nats-url", b.nats, "--room", "general")
	var socks contract.SocketsReply
	if err != nil || json.Unmarshal([]byte(out), &socks) != nil || len(socks.Sockets) != 1 || socks.Sockets[0].SID != sid {
		t.Fatalf("sockets: %v %q", err, out)
	}

	_, _, err = runArgs(t, 10*time.Second, "emit", "--nats-url", b.nats, "--ns", "/nope", "x")
	if err == nil || !strings.Contains(err.Error(), "unknown_namespace") {
		t.Fatalf("emit to an unknown namespace: %v", err)
	}

	sub := start(t, "sub", "--nats-url", b.nats, "--count", "1")
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		_ = c.Emit("/", "ping-services", "x")
		select {
		case <-sub.done:
			return nil
		default:
			return errorf("sub still waiting")
		}
	})
	if sub.err != nil || !strings.Contains(sub.stdout.String(), `"subject":"sb.ev._.ping-services"`) {
		t.Fatalf("sub: %v %q", sub.err, sub.stdout.String())
	}
}

// TestNATSAuthFlags checks that credentials and TLS files are validated
// before anything starts, for the edge and the service-side commands.
func TestNATSAuthFlags(t *testing.T) {
	for _, args := range [][]string{
		{"edge", "--addr", "127.0.0.1:0", "--nats-creds", "/nonexistent/user.creds"},
		{"edge", "--addr", "127.0.0.1:0", "--nats-tls-cert", "/etc/hostname"},
		{"emit", "--nats-tls-ca", "/nonexistent/ca.pem", "x"},
	} {
		_, _, err := runArgs(t, 10*time.Second, args...)
		var ce *configError
		if !errors.As(err, &ce) {
			t.Errorf("%v: error %v, want a configuration error", args, err)
		}
	}
	// A user and password in the URL reach NATS (a server that requires them).
	opts := natstest.Options()
	opts.Username, opts.Password = "svc", "s3cret"
	ns := natstest.Start(t, opts)
	url := strings.Replace(ns.ClientURL(), "nats://", "nats://svc:s3cret@", 1)
	_, _, err := runArgs(t, 10*time.Second, "sockets", "--nats-url", url, "--timeout", "300ms")
	if err == nil || !strings.Contains(err.Error(), "no edge answers") {
		t.Fatalf("authenticated command: %v (want it to reach NATS and find no edge)", err)
	}
	_, _, err = runArgs(t, 10*time.Second, "sockets", "--nats-url", ns.ClientURL(), "--timeout", "300ms")
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("unauthenticated command: %v, want an authorization error", err)
	}
}
