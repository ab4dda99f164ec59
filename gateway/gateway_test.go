package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/edge"
	"github.com/switchboard-rt/switchboard/internal/sioclient"
	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
)

type env struct {
	t    *testing.T
	srv  *edge.Server
	gw   *Gateway
	nc   *nats.Conn // the services' connection
	url  string
	ctx  context.Context
	nats string
}

func setup(t *testing.T, cfg Config) *env { t.Helper(); return setupWith(t, cfg, nil) }

func setupWith(t *testing.T, cfg Config, opts *server.Options) *env {
	t.Helper()
	ns := natstest.Start(t, opts)
	srv := edge.New(edge.Config{})
	srv.Of("/chat")
	edgeNC := natstest.Connect(t, ns.ClientURL())
	if cfg.Node == "" {
		cfg.Node = "node-1"
	}
	gw, err := New(srv, edgeNC, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(func() {
		cancel()
		gw.Close()
		_ = srv.Shutdown(context.Background())
		hs.Close()
	})
	return &env{t: t, srv: srv, gw: gw, nc: natstest.Connect(t, ns.ClientURL()), url: hs.URL, ctx: ctx, nats: ns.ClientURL()}
}

func (e *env) client(ns string, auth any) (*sioclient.Client, string) {
	e.t.Helper()
	c, err := sioclient.Dial(e.ctx, e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	sid, err := c.Connect(e.ctx, ns, auth)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, sid
}

// reply answers requests on subject with body.
func (e *env) reply(subject string, fn func(m *nats.Msg) any) {
	e.t.Helper()
	sub, err := e.nc.Subscribe(subject, func(m *nats.Msg) {
		b, _ := json.Marshal(fn(m))
		_ = m.Respond(b)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sub.Unsubscribe() })
	_ = e.nc.Flush()
}

func (e *env) request(subject string, body any) []byte {
	e.t.Helper()
	b, _ := json.Marshal(body)
	m, err := e.nc.Request(subject, b, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	return m.Data
}

func TestSeedCreateRoomFlow(t *testing.T) {
	e := setup(t, Config{})
	var got contract.Event
	e.reply("sb.ev.chat.createRoom", func(m *nats.Msg) any {
		_ = json.Unmarshal(m.Data, &got)
		var args []struct{ Name string }
		_ = json.Unmarshal(got.Args, &args)
		return contract.EventReply{Args: json.RawMessage(`[{"id":"room-` + args[0].Name + `","status":"ok"}]`), Join: []string{args[0].Name}}
	})
	c, sid := e.client("/chat", nil)
	ack, err := c.EmitWithAck(e.ctx, "/chat", "createRoom", map[string]string{"name": "general"})
	if err != nil {
		t.Fatal(err)
	}
	if string(ack.Args) != `[{"id":"room-general","status":"ok"}]` {
		t.Fatalf("ack %s", ack.Args)
	}
	if got.SID != sid || got.NS != "/chat" || got.Event != "createRoom" || got.Node != "node-1" || string(got.Args) != `[{"name":"general"}]` {
		t.Fatalf("event body %+v", got)
	}
	nsp, _ := e.srv.Namespace("/chat")
	if s := nsp.Socket(sid); s == nil || !slices.Contains(s.Rooms(), "general") {
		t.Fatal("the reply's join was not applied")
	}
}

func TestEventWithoutAckIsPublished(t *testing.T) {
	e := setup(t, Config{})
	msgs := make(chan *nats.Msg, 1)
	sub, _ := e.nc.ChanSubscribe("sb.ev._.user%2Ejoined", msgs)
	defer sub.Unsubscribe()
	_ = e.nc.Flush()
	c, _ := e.client("/", nil)
	_ = c.Emit("/", "user.joined", 1, "two")
	select {
	case m := <-msgs:
		var ev contract.Event
		_ = json.Unmarshal(m.Data, &ev)
		if m.Reply != "" || ev.Event != "user.joined" || string(ev.Args) != `[1,"two"]` {
			t.Fatalf("published %s (reply %q)", m.Data, m.Reply)
		}
	case <-e.ctx.Done():
		t.Fatal("no publish")
	}
}

func TestBinaryThroughAService(t *testing.T) {
	e := setup(t, Config{})
	e.reply("sb.ev._.upload", func(m *nats.Msg) any {
		var ev contract.Event
		_ = json.Unmarshal(m.Data, &ev)
		// Reverse the bytes and send them back, nested.
		b := append([]byte(nil), ev.Attachments[0]...)
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return contract.EventReply{Args: json.RawMessage(`[{"file":{"_placeholder":true,"num":0},"n":` + fmt.Sprint(len(b)) + `}]`), Attachments: [][]byte{b}}
	})
	c, _ := e.client("/", nil)
	ack, err := c.EmitWithAck(e.ctx, "/", "upload", map[string]any{"data": []byte{1, 2, 3, 255}})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		File []byte
		N    int
	}
	if err := ack.Decode(0, &out); err != nil || !bytes.Equal(out.File, []byte{255, 3, 2, 1}) || out.N != 4 {
		t.Fatalf("binary reply %+v %v (%s)", out, err, ack.Args)
	}
}

func ackErr(t *testing.T, ack sioclient.Message) contract.Error {
	t.Helper()
	var body contract.ErrorReply
	if err := ack.Decode(0, &body); err != nil || body.Error == nil {
		t.Fatalf("ack %s is not an error", ack.Args)
	}
	return *body.Error
}

func TestServiceFailures(t *testing.T) {
	e := setup(t, Config{AckTimeout: 200 * time.Millisecond})
	e.reply("sb.ev._.fails", func(*nats.Msg) any {
		return contract.EventReply{Error: &contract.Error{Code: "conflict", Message: "room exists"}}
	})
	slow, _ := e.nc.Subscribe("sb.ev._.slow", func(*nats.Msg) {})
	defer slow.Unsubscribe()
	_ = e.nc.Flush()
	c, _ := e.client("/", nil)
	for event, want := range map[string]string{"fails": contract.CodeServiceError, "slow": contract.CodeTimeout, "nobody": contract.CodeNoResponders} {
		ack, err := c.EmitWithAck(e.ctx, "/", event)
		if err != nil {
			t.Fatal(err)
		}
		if got := ackErr(t, ack); got.Code != want || got.Message == "" {
			t.Errorf("%s: error %+v, want code %s", event, got, want)
		}
	}
}

func TestTooLarge(t *testing.T) {
	opts := natstest.Options()
	opts.MaxPayload = 10_000
	e := setupWith(t, Config{}, opts)
	c, _ := e.client("/", nil)
	big := strings.Repeat("x", int(e.gw.nc.MaxPayload())+10)
	ack, err := c.EmitWithAck(e.ctx, "/", "big", big)
	if err != nil {
		t.Fatal(err)
	}
	if got := ackErr(t, ack); got.Code != contract.CodeTooLarge {
		t.Fatalf("error %+v", got)
	}
}

func TestAuth(t *testing.T) {
	e := setup(t, Config{AuthNamespaces: []string{"/chat"}, AuthTimeout: 300 * time.Millisecond})
	// No auth service yet: refused as unavailable.
	c, err := sioclient.Dial(e.ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Connect(e.ctx, "/chat", map[string]string{"token": "t"}); err == nil || !strings.Contains(err.Error(), "authentication unavailable") {
		t.Fatalf("without auth service: %v", err)
	}
	e.reply("sb.auth.chat", func(m *nats.Msg) any {
		var r contract.AuthRequest
		_ = json.Unmarshal(m.Data, &r)
		if !strings.Contains(string(r.Auth), `"good"`) {
			return contract.AuthReply{Message: "bad token", Data: json.RawMessage(`{"code":401}`)}
		}
		return contract.AuthReply{OK: true, User: "u42", Data: json.RawMessage(`{"name":"ann"}`), Join: []string{"vip"}}
	})
	if _, err := c.Connect(e.ctx, "/chat", map[string]string{"token": "bad"}); err == nil || err.Error() != `{"message":"bad token","data":{"code":401}}` {
		t.Fatalf("refused: %v", err)
	}
	sid, err := c.Connect(e.ctx, "/chat", map[string]string{"token": "good"})
	if err != nil {
		t.Fatal(err)
	}
	nsp, _ := e.srv.Namespace("/chat")
	s := nsp.Socket(sid)
	if s == nil || s.User() != "u42" || string(s.Data().(json.RawMessage)) != `{"name":"ann"}` || !slices.Contains(s.Rooms(), "vip") {
		t.Fatalf("accepted socket %+v", s)
	}
	// Namespaces without auth are not asked.
	if _, err := c.Connect(e.ctx, "/", nil); err != nil {
		t.Fatal(err)
	}
}

func TestLifecycleMessages(t *testing.T) {
	e := setup(t, Config{})
	msgs := make(chan *nats.Msg, 4)
	sub, _ := e.nc.ChanSubscribe("sb.*.chat", msgs)
	defer sub.Unsubscribe()
	_ = e.nc.Flush()
	c, sid := e.client("/chat", map[string]int{"v": 1})
	m := <-msgs
	var conn contract.Conn
	_ = json.Unmarshal(m.Data, &conn)
	if m.Subject != "sb.conn.chat" || conn.SID != sid || string(conn.Handshake.Auth) != `{"v":1}` || conn.Handshake.URL == "" {
		t.Fatalf("conn %s %s", m.Subject, m.Data)
	}
	c.Close()
	m = <-msgs
	var disc contract.Disc
	_ = json.Unmarshal(m.Data, &disc)
	if m.Subject != "sb.disc.chat" || disc.SID != sid || disc.Reason != edge.ReasonTransportClose {
		t.Fatalf("disc %s %s", m.Subject, m.Data)
	}
}

func TestCommands(t *testing.T) {
	e := setup(t, Config{})
	a, sa := e.client("/chat", nil)
	b, sb := e.client("/chat", nil)
	var r contract.CommandReply
	_ = json.Unmarshal(e.request("sb.cmd.join", contract.RoomsCommand{Selector: contract.Selector{NS: "/chat", SIDs: []string{sa, sb}}, Join: []string{"general"}}), &r)
	if !r.OK || r.Matched != 2 || r.MissingNodes == nil {
		t.Fatalf("join %+v", r)
	}
	_ = json.Unmarshal(e.request("sb.cmd.emit", contract.EmitCommand{Selector: contract.Selector{NS: "/chat", Rooms: []string{"general"}, Except: []string{sb}}, Event: "msg", Args: json.RawMessage(`["hi",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}}), &r)
	if r.Matched != 1 {
		t.Fatalf("emit %+v", r)
	}
	m, err := a.Next(2 * time.Second)
	var bin []byte
	if err != nil || m.Event != "msg" || m.Decode(1, &bin) != nil || !bytes.Equal(bin, []byte{7}) {
		t.Fatalf("a got %+v %v", m, err)
	}
	if m, err := b.Next(100 * time.Millisecond); err == nil {
		t.Fatalf("excepted socket got %+v", m)
	}

	var socks contract.SocketsReply
	_ = json.Unmarshal(e.request("sb.cmd.sockets", contract.Selector{NS: "/chat", Rooms: []string{"general"}}), &socks)
	if len(socks.Sockets) != 2 || socks.Partial || socks.Sockets[0].Node != "node-1" {
		t.Fatalf("sockets %+v", socks)
	}

	// Emit with acks: a answers, b does not.
	go func() {
		m, err := a.Next(2 * time.Second)
		if err == nil && m.HasID {
			_ = a.Ack(m, "from-a")
		}
	}()
	_ = json.Unmarshal(e.request("sb.cmd.emit", contract.EmitCommand{Selector: contract.Selector{NS: "/chat", Rooms: []string{"general"}}, Event: "q", Args: json.RawMessage(`[]`), AckTimeoutMS: 300}), &r)
	if r.Matched != 2 || len(r.Acks) != 1 || r.Acks[0].SID != sa || string(r.Acks[0].Args) != `["from-a"]` || r.TimedOut != 1 {
		t.Fatalf("emit with acks %+v", r)
	}
	_, _ = b.Next(time.Second) // the unanswered question

	_ = json.Unmarshal(e.request("sb.cmd.leave", contract.RoomsCommand{Selector: contract.Selector{NS: "/chat", SIDs: []string{sa}}, Leave: []string{"general"}}), &r)
	_ = json.Unmarshal(e.request("sb.cmd.sockets", contract.Selector{NS: "/chat", Rooms: []string{"general"}}), &socks)
	if len(socks.Sockets) != 1 || socks.Sockets[0].SID != sb {
		t.Fatalf("after leave %+v", socks)
	}
	_ = json.Unmarshal(e.request("sb.cmd.disconnect", contract.DisconnectCommand{Selector: contract.Selector{NS: "/chat", SIDs: []string{sb}}}), &r)
	if m, err := b.Next(2 * time.Second); err != nil || m.Event != "disconnect" {
		t.Fatalf("disconnect: %+v %v", m, err)
	}

	var bad contract.ErrorReply
	_ = json.Unmarshal(e.request("sb.cmd.emit", contract.EmitCommand{Selector: contract.Selector{NS: "/nope"}, Event: "x"}), &bad)
	if bad.Error == nil || bad.Error.Code != contract.CodeUnknownNamespace {
		t.Fatalf("unknown namespace: %+v", bad)
	}
	_ = json.Unmarshal(e.request("sb.cmd.join", json.RawMessage(`{"ns":`)), &bad)
	if bad.Error == nil || bad.Error.Code != contract.CodeBadRequest {
		t.Fatalf("malformed: %+v", bad)
	}
}

func TestNATSRestartKeepsSessions(t *testing.T) {
	opts := natstest.Options()
	ns := natstest.Start(t, opts)
	url := ns.ClientURL()
	opts.Port = ns.Addr().(*net.TCPAddr).Port // restart on the same port
	srv := edge.New(edge.Config{})
	edgeNC := natstest.Connect(t, url)
	gw, err := New(srv, edgeNC, Config{AckTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	defer gw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Connect(ctx, "/", nil); err != nil {
		t.Fatal(err)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if gw.Ready() == nil {
			return fmt.Errorf("still ready")
		}
		return nil
	})
	// During the outage an event gets the documented error at once.
	ack, err := c.EmitWithAck(ctx, "/", "echo")
	if err != nil {
		t.Fatal(err)
	}
	if got := ackErr(t, ack); got.Code != contract.CodeUnavailable {
		t.Fatalf("during outage: %+v", got)
	}

	ns2 := natstest.Start(t, opts)
	testutil.CheckFor(t, 10*time.Second, 20*time.Millisecond, gw.Ready)
	svc := natstest.Connect(t, ns2.ClientURL())
	sub, _ := svc.Subscribe("sb.ev._.echo", func(m *nats.Msg) { _ = m.Respond([]byte(`{"args":["back"]}`)) })
	defer sub.Unsubscribe()
	_ = svc.Flush()
	testutil.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		ack, err := c.EmitWithAck(ctx, "/", "echo")
		if err != nil {
			return err
		}
		if string(ack.Args) != `["back"]` {
			return fmt.Errorf("ack %s", ack.Args)
		}
		return nil
	})
}

// P.bcast: every emit published reaches the selected sockets of this edge,
// in the order published; bad messages are dropped without disturbing the
// stream.
func TestBroadcastSubject(t *testing.T) {
	e := setup(t, Config{})
	a, sa := e.client("/chat", nil)
	b, _ := e.client("/chat", nil)
	_ = e.request("sb.cmd.join", contract.RoomsCommand{Selector: contract.Selector{NS: "/chat", SIDs: []string{sa}}, Join: []string{"general"}})
	pub := func(body any) {
		t.Helper()
		raw, ok := body.([]byte)
		if !ok {
			raw, _ = json.Marshal(body)
		}
		if err := e.nc.Publish("sb.bcast", raw); err != nil {
			t.Fatal(err)
		}
	}
	const n = 500
	for i := range n {
		pub(contract.EmitCommand{Selector: contract.Selector{NS: "/chat", Rooms: []string{"general"}}, Event: "seq", Args: json.RawMessage(fmt.Sprintf(`[%d]`, i))})
		if i == n/2 {
			pub([]byte(`{"ns":`))                                                                                                                       // malformed
			pub(contract.EmitCommand{Selector: contract.Selector{NS: "/chat"}, Event: "acked", AckTimeoutMS: 100})                                      // acks need P.cmd.emit
			pub(contract.EmitCommand{Selector: contract.Selector{NS: "/nope"}, Event: "lost"})                                                          // unknown here
			pub(contract.EmitCommand{Selector: contract.Selector{NS: "/chat"}, Event: "bad", Args: json.RawMessage(`[{"_placeholder":true,"num":3}]`)}) // no such attachment
		}
	}
	for i := range n {
		m, err := a.Next(5 * time.Second)
		var got int
		if err != nil || m.Event != "seq" || m.Decode(0, &got) != nil || got != i {
			t.Fatalf("message %d: %+v, %v", i, m, err)
		}
	}
	if m, err := a.Next(100 * time.Millisecond); err == nil {
		t.Fatalf("a got an extra message %+v", m)
	}
	if m, err := b.Next(100 * time.Millisecond); err == nil {
		t.Fatalf("b (not in the room) got %+v", m)
	}
}
