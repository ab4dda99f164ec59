package service_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
	"github.com/switchboard-rt/switchboard/service"
)

const okReply = `{"ok":true,"matched":3,"missing_nodes":["n3"]}`

func TestEmit(t *testing.T) {
	e := setup(t, service.Options{})
	st := e.stub("sb.cmd.emit", okReply)
	ctx := context.Background()

	reply, err := e.c.Of("/chat").To("general").Emit(ctx, "msg", "hi")
	if err != nil {
		t.Fatal(err)
	}
	if got := st.wait(t, 0); got != `{"ns":"/chat","rooms":["general"],"event":"msg","args":["hi"]}` {
		t.Errorf("body %s", got)
	}
	if !reply.OK || reply.Matched != 3 || !reflect.DeepEqual(reply.MissingNodes, []string{"n3"}) {
		t.Errorf("reply %+v", reply)
	}

	// Every selector field, volatile, no args, a namespace without "/".
	base := e.c.Of("chat").To("a", "b").SIDs("s1").Except("muted").Volatile()
	if _, err := base.Emit(ctx, "tick"); err != nil {
		t.Fatal(err)
	}
	if got := st.wait(t, 1); got != `{"ns":"/chat","rooms":["a","b"],"sids":["s1"],"except":["muted"],"event":"tick","args":[],"volatile":true}` {
		t.Errorf("body %s", got)
	}
	// Targets are values: narrowing one does not change another.
	if _, err := base.To("c").Emit(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := base.Emit(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	if got := st.wait(t, 3); got != `{"ns":"/chat","rooms":["a","b"],"sids":["s1"],"except":["muted"],"event":"y","args":[],"volatile":true}` {
		t.Errorf("body %s", got)
	}

	// Binary anywhere becomes attachments; the root namespace; Select.
	type pic struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	sel := contract.Selector{SIDs: []string{"s2"}}
	if _, err := e.c.Select(sel).Emit(ctx, "pic", pic{"a.png", []byte{1, 2}}, []byte("x"), map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	want := `{"ns":"/","sids":["s2"],"event":"pic","args":[{"name":"a.png","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1},{"n":1}],"attachments":["AQI=","eA=="]}`
	if got := st.wait(t, 4); got != want {
		t.Errorf("body %s\nwant %s", got, want)
	}

	// Publish: the same body, on P.bcast, which every edge receives.
	bcast := e.stub("sb.bcast", "")
	if err := e.c.Of("/chat").To("general").Publish("msg", "hi"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := bcast.wait(t, 0); got != `{"ns":"/chat","rooms":["general"],"event":"msg","args":["hi"]}` {
		t.Errorf("published body %s", got)
	}

	// Reserved event names and unencodable args fail before sending.
	if _, err := e.c.Of("/").Emit(ctx, "connect"); !errors.Is(err, socketio.ErrReservedEvent) {
		t.Errorf("reserved: %v", err)
	}
	if err := e.c.Of("/").Publish("x", make(chan int)); err == nil {
		t.Error("unencodable args accepted")
	}
}

func TestEmitWithAck(t *testing.T) {
	e := setup(t, service.Options{})
	st := e.stub("sb.cmd.emit", `{"ok":true,"matched":3,"acks":[{"sid":"s1","args":[{"b":2,"a":1}]},`+
		`{"sid":"s2","args":["x",{"_placeholder":true,"num":0}],"attachments":["aGk="]}],"timed_out":1,"missing_nodes":[]}`)
	acks, reply, err := e.c.Of("/chat").To("general").EmitWithAck(context.Background(), 1500*time.Microsecond, "q", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.wait(t, 0); got != `{"ns":"/chat","rooms":["general"],"event":"q","args":[1],"ack_timeout_ms":2}` {
		t.Errorf("body %s", got)
	}
	if reply.Matched != 3 || reply.TimedOut != 1 || len(reply.MissingNodes) != 0 || len(acks) != 2 {
		t.Fatalf("reply %+v, acks %+v", reply, acks)
	}
	if acks[0].SID != "s1" || string(acks[0].Args.Raw(0)) != `{"b":2,"a":1}` {
		t.Errorf("ack 0 %+v", acks[0])
	}
	if b, ok := acks[1].Args.Bytes(1); acks[1].SID != "s2" || !ok || string(b) != "hi" {
		t.Errorf("ack 1 %+v", acks[1])
	}
	if _, _, err := e.c.Of("/").EmitWithAck(context.Background(), 0, "q"); err == nil {
		t.Error("zero timeout accepted")
	}
}

func TestRoomsDisconnectSockets(t *testing.T) {
	e := setup(t, service.Options{})
	join := e.stub("sb.cmd.join", okReply)
	leave := e.stub("sb.cmd.leave", okReply)
	disc := e.stub("sb.cmd.disconnect", okReply)
	socks := e.stub("sb.cmd.sockets", `{"sockets":[{"sid":"s1","node":"n1","rooms":["s1","general"],"data":{"role":"admin"},"user":"u1"}],"partial":true,"missing_nodes":["n2"]}`)
	ctx := context.Background()
	chat := e.c.Of("/chat")

	if r, err := chat.SIDs("s1").Join(ctx, "r1", "r2"); err != nil || r.Matched != 3 {
		t.Errorf("join: %+v, %v", r, err)
	}
	if got := join.wait(t, 0); got != `{"ns":"/chat","sids":["s1"],"join":["r1","r2"]}` {
		t.Errorf("join body %s", got)
	}
	if _, err := chat.To("r1").Except("vip").Leave(ctx, "r1"); err != nil {
		t.Error(err)
	}
	if got := leave.wait(t, 0); got != `{"ns":"/chat","rooms":["r1"],"except":["vip"],"leave":["r1"]}` {
		t.Errorf("leave body %s", got)
	}
	if _, err := chat.To("spam").Disconnect(ctx, true); err != nil {
		t.Error(err)
	}
	if _, err := chat.Disconnect(ctx, false); err != nil {
		t.Error(err)
	}
	if got := disc.wait(t, 0); got != `{"ns":"/chat","rooms":["spam"],"close":true}` {
		t.Errorf("disconnect body %s", got)
	}
	if got := disc.wait(t, 1); got != `{"ns":"/chat"}` {
		t.Errorf("disconnect body %s", got)
	}
	r, err := chat.To("general").Sockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := socks.wait(t, 0); got != `{"ns":"/chat","rooms":["general"]}` {
		t.Errorf("sockets body %s", got)
	}
	want := []contract.SocketInfo{{SID: "s1", Node: "n1", Rooms: []string{"s1", "general"}, Data: []byte(`{"role":"admin"}`), User: "u1"}}
	if !r.Partial || !reflect.DeepEqual(r.MissingNodes, []string{"n2"}) || !reflect.DeepEqual(r.Sockets, want) {
		t.Errorf("sockets reply %+v", r)
	}
}

func TestCommandErrors(t *testing.T) {
	e := setup(t, service.Options{Timeout: 100 * time.Millisecond})
	ctx := context.Background()
	chat := e.c.Of("/chat")

	// Nobody listens.
	_, err := chat.Emit(ctx, "msg")
	if !errors.Is(err, service.ErrNoEdge) || !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("no edge: %v", err)
	}

	// Error replies, for each command kind.
	e.stub("sb.cmd.emit", `{"error":{"code":"unknown_namespace","message":"no namespace /nope"}}`)
	e.stub("sb.cmd.join", `{"error":{"code":"bad_request","message":"no rooms"}}`)
	e.stub("sb.cmd.sockets", `{"error":{"code":"unavailable","message":"adapter down"}}`)
	e.stub("sb.cmd.leave", `{"ok":false,"matched":0,"missing_nodes":[]}`)
	e.stub("sb.cmd.disconnect", `not json`)
	check := func(name string, err error, code string) {
		t.Helper()
		var ce *contract.Error
		if !errors.As(err, &ce) || ce.Code != code {
			t.Errorf("%s: %v, want code %s", name, err, code)
		}
	}
	_, err = chat.Emit(ctx, "msg")
	check("emit", err, contract.CodeUnknownNamespace)
	_, _, err = chat.EmitWithAck(ctx, time.Millisecond, "msg")
	check("emit with ack", err, contract.CodeUnknownNamespace)
	_, err = chat.Join(ctx, "x")
	check("join", err, contract.CodeBadRequest)
	_, err = chat.Sockets(ctx)
	check("sockets", err, contract.CodeUnavailable)
	if _, err := chat.Leave(ctx, "x"); !errors.Is(err, service.ErrBadReply) {
		t.Errorf("leave: %v", err)
	}
	if _, err := chat.Disconnect(ctx, false); !errors.Is(err, service.ErrBadReply) {
		t.Errorf("disconnect: %v", err)
	}

	// An edge that never answers: Options.Timeout ends the request, or ctx
	// when it ends first.
	if _, err := e.edge.Subscribe("quiet.cmd.emit", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := e.edge.Flush(); err != nil {
		t.Fatal(err)
	}
	fast, _ := e.newClient(service.Options{Prefix: "quiet", Timeout: 50 * time.Millisecond})
	start := time.Now()
	if _, err := fast.Of("/").Emit(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent edge: %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("timed out after %v", d)
	}
	patient, _ := e.newClient(service.Options{Prefix: "quiet"})
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := patient.Of("/").Emit(short, "x"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("ctx deadline: %v after %v", err, time.Since(start))
	}

	if _, err := (service.Target{}).Emit(ctx, "x"); err == nil {
		t.Error("zero Target accepted")
	}
}

func TestNew(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	if _, err := service.New(nil, service.Options{}); err == nil {
		t.Error("nil connection accepted")
	}
	if _, err := service.New(nc, service.Options{Prefix: "a.*"}); err == nil {
		t.Error("bad prefix accepted")
	}
}
