package service_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
	"github.com/switchboard-rt/switchboard/service"
)

func TestHandleAck(t *testing.T) {
	e := setup(t, service.Options{})
	var got *service.Request
	var mu sync.Mutex
	e.handle("/chat", "echo", func(_ context.Context, r *service.Request) (any, error) {
		mu.Lock()
		got = r
		mu.Unlock()
		return r.Args, nil
	})
	e.handle("/chat", "createRoom", func(_ context.Context, r *service.Request) (any, error) {
		var req struct {
			Name string `json:"name"`
		}
		if err := r.Args.Decode(0, &req); err != nil {
			return nil, err
		}
		return struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}{"room-" + req.Name, "ok"}, nil
	})
	e.handle("/chat", "many", func(context.Context, *service.Request) (any, error) {
		return service.Values{"ok", 42, nil, json.RawMessage(`{"z":1,"a":2}`)}, nil
	})
	e.handle("/chat", "nothing", func(context.Context, *service.Request) (any, error) { return nil, nil })
	e.handle("/chat", "array", func(context.Context, *service.Request) (any, error) { return []any{1, "x"}, nil })

	// Raw args keep their key order and number spelling.
	ev := event("echo", `[{"z":1,"a":{"y":[1,2],"b":"é"}},"x",3.50]`)
	ev.User, ev.Data = "u7", json.RawMessage(`{"role":"admin"}`)
	reply := e.request("sb.ev.chat.echo", ev)
	if want := `{"args":[{"z":1,"a":{"y":[1,2],"b":"é"}},"x",3.50]}`; string(reply) != want {
		t.Errorf("echo reply %s, want %s", reply, want)
	}
	mu.Lock()
	if got.SID != "s1" || got.NS != "/chat" || got.Event != "echo" || got.Node != "n1" || got.User != "u7" ||
		string(got.Data) != `{"role":"admin"}` || !got.WantsAck() || got.Args.Len() != 3 || string(got.Args.Raw(1)) != `"x"` {
		t.Errorf("request %+v", got)
	}
	mu.Unlock()

	tests := []struct{ subject, args, want string }{
		{"sb.ev.chat.createRoom", `[{"name":"general"}]`, `{"args":[{"id":"room-general","status":"ok"}]}`},
		{"sb.ev.chat.many", `[]`, `{"args":["ok",42,null,{"z":1,"a":2}]}`},
		{"sb.ev.chat.nothing", `[]`, `{"args":[]}`},
		{"sb.ev.chat.array", `[]`, `{"args":[[1,"x"]]}`},
	}
	for _, tt := range tests {
		name := tt.subject[strings.LastIndexByte(tt.subject, '.')+1:]
		if reply := e.request(tt.subject, event(name, tt.args)); string(reply) != tt.want {
			t.Errorf("%s: reply %s, want %s", tt.subject, reply, tt.want)
		}
	}
}

func TestHandleBinary(t *testing.T) {
	e := setup(t, service.Options{})
	type file struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	type result struct {
		decoded file
		bytes   []byte
		value   any
	}
	results := make(chan result, 1)
	e.handle("/chat", "upload", func(_ context.Context, r *service.Request) (any, error) {
		var res result
		if err := r.Args.Decode(0, &res.decoded); err != nil {
			return nil, err
		}
		res.bytes, _ = r.Args.Bytes(1)
		var err error
		if res.value, err = r.Args.Value(0); err != nil {
			return nil, err
		}
		results <- res
		// Binary nested in a struct in a map, and a top-level one.
		return service.Values{map[string]any{"thumb": file{Name: "t.png", Data: []byte{0xff, 0}}}, []byte("raw")}, nil
	})
	ev := event("upload", `[{"name":"a.bin","data":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0}]`,
		[]byte("second"), []byte{1, 2, 3})
	reply := e.request("sb.ev.chat.upload", ev)

	res := <-results
	if res.decoded.Name != "a.bin" || string(res.decoded.Data) != "\x01\x02\x03" || string(res.bytes) != "second" {
		t.Errorf("decoded %+v, bytes %q", res.decoded, res.bytes)
	}
	if m, ok := res.value.(map[string]any); !ok || !reflect.DeepEqual(m["data"], []byte{1, 2, 3}) || m["name"] != "a.bin" {
		t.Errorf("Value = %#v", res.value)
	}
	want := `{"args":[{"thumb":{"name":"t.png","data":{"_placeholder":true,"num":0}}},{"_placeholder":true,"num":1}],` +
		`"attachments":["` + base64.StdEncoding.EncodeToString([]byte{0xff, 0}) + `","` + base64.StdEncoding.EncodeToString([]byte("raw")) + `"]}`
	if string(reply) != want {
		t.Errorf("reply %s\nwant  %s", reply, want)
	}
	var er contract.EventReply
	if err := json.Unmarshal(reply, &er); err != nil || len(er.Attachments) != 2 || string(er.Attachments[1]) != "raw" {
		t.Errorf("reply decodes to %+v, %v", er, err)
	}

	// Echoing Args keeps their attachments.
	e.handle("/chat", "echo", func(_ context.Context, r *service.Request) (any, error) { return r.Args, nil })
	reply = e.request("sb.ev.chat.echo", event("echo", `[{"_placeholder":true,"num":0}]`, []byte("hi")))
	if want := `{"args":[{"_placeholder":true,"num":0}],"attachments":["aGk="]}`; string(reply) != want {
		t.Errorf("echo reply %s, want %s", reply, want)
	}
}

func TestHandleJoinLeave(t *testing.T) {
	e := setup(t, service.Options{})
	e.handle("/chat", "move", func(_ context.Context, r *service.Request) (any, error) {
		r.Leave("lobby")
		r.Join("room-1", "room-2")
		return "moved", nil
	})
	e.handle("/chat", "fail", func(_ context.Context, r *service.Request) (any, error) {
		r.Join("never")
		return nil, errors.New("no")
	})
	if reply := e.request("sb.ev.chat.move", event("move", `[]`)); string(reply) != `{"args":["moved"],"join":["room-1","room-2"],"leave":["lobby"]}` {
		t.Errorf("reply %s", reply)
	}
	if reply := e.request("sb.ev.chat.fail", event("fail", `[]`)); string(reply) != `{"error":{"code":"service_error","message":"no"}}` {
		t.Errorf("reply %s", reply)
	}
}

func TestHandleErrors(t *testing.T) {
	e := setup(t, service.Options{HandlerTimeout: 50 * time.Millisecond})
	e.handle("/chat", "*", func(ctx context.Context, r *service.Request) (any, error) {
		switch r.Event {
		case "plain":
			return nil, errors.New("room exists")
		case "coded":
			return nil, fmt.Errorf("create: %w", &contract.Error{Code: "conflict", Message: "room exists"})
		case "uncoded":
			return nil, &contract.Error{Message: "bad"}
		case "slow":
			<-ctx.Done()
			return nil, ctx.Err()
		case "panic":
			panic("boom")
		case "unencodable":
			return make(chan int), nil
		}
		return "unexpected", nil
	})
	tests := []struct{ name, args, want string }{
		{"plain", `[]`, `{"error":{"code":"service_error","message":"room exists"}}`},
		{"coded", `[]`, `{"error":{"code":"conflict","message":"room exists"}}`},
		{"uncoded", `[]`, `{"error":{"code":"service_error","message":"bad"}}`},
		{"slow", `[]`, `{"error":{"code":"timeout","message":"context deadline exceeded"}}`},
		{"panic", `[]`, `{"error":{"code":"service_error","message":"internal error"}}`},
		{"unencodable", `[]`, `{"error":{"code":"service_error","message":"cannot encode the reply"}}`},
		{"badph", `[{"_placeholder":true,"num":3}]`, ""},
		{"notarray", `{"a":1}`, ""},
	}
	for _, tt := range tests {
		reply := e.request("sb.ev.chat."+tt.name, event(tt.name, tt.args))
		if tt.want == "" {
			var er contract.ErrorReply
			if err := json.Unmarshal(reply, &er); err != nil || er.Error == nil || er.Error.Code != contract.CodeBadRequest {
				t.Errorf("%s: reply %s, want bad_request", tt.name, reply)
			}
			continue
		}
		if string(reply) != tt.want {
			t.Errorf("%s: reply %s, want %s", tt.name, reply, tt.want)
		}
	}
	// A body that is not JSON at all.
	if reply := e.request("sb.ev.chat.x", "not json"); !strings.Contains(string(reply), `"code":"bad_request"`) {
		t.Errorf("reply %s", reply)
	}
}

func TestHandlePublished(t *testing.T) {
	e := setup(t, service.Options{})
	joins := e.stub("sb.cmd.join", "")
	leaves := e.stub("sb.cmd.leave", "")
	var wantsAck atomic.Int32
	calls := make(chan string, 4)
	e.handle("/chat", "typing", func(_ context.Context, r *service.Request) (any, error) {
		if r.WantsAck() {
			wantsAck.Add(1)
		}
		r.Join("typing")
		r.Leave("idle")
		calls <- string(r.Args.Raw(0))
		return "dropped", nil
	})
	e.handle("/chat", "oops", func(_ context.Context, r *service.Request) (any, error) {
		r.Join("never")
		calls <- "oops"
		return nil, errors.New("ignored")
	})
	e.publish("sb.ev.chat.typing", event("typing", `[true]`))
	if got := <-calls; got != "true" {
		t.Errorf("arg %s", got)
	}
	if wantsAck.Load() != 0 {
		t.Error("WantsAck true for a published event")
	}
	// Joins and leaves of an event without ack become commands on the socket.
	if got := joins.wait(t, 0); got != `{"ns":"/chat","sids":["s1"],"join":["typing"]}` {
		t.Errorf("join command %s", got)
	}
	if got := leaves.wait(t, 0); got != `{"ns":"/chat","sids":["s1"],"leave":["idle"]}` {
		t.Errorf("leave command %s", got)
	}
	e.publish("sb.ev.chat.oops", event("oops", `[]`))
	<-calls
	// The failed handler's join is not sent: a later event's join arrives
	// as the second join command only.
	e.publish("sb.ev.chat.typing", event("typing", `[false]`))
	<-calls
	if got := joins.wait(t, 1); got != `{"ns":"/chat","sids":["s1"],"join":["typing"]}` {
		t.Errorf("second join command %s", got)
	}
	if n := joins.count(); n != 2 {
		t.Errorf("%d join commands", n)
	}
}

func TestHandleWildcardsAndEscaping(t *testing.T) {
	e := setup(t, service.Options{Prefix: "app.rt"})
	seen := make(chan string, 8)
	record := func(_ context.Context, r *service.Request) (any, error) {
		seen <- r.NS + " " + r.Event
		return nil, nil
	}
	e.handle("/", "user.joined", record)
	e.handle("/_", "_", record)
	e.handle("/chat", "*", record)
	e.handle("*", "ping", record)

	for _, tt := range []struct {
		subject string
		ev      contract.Event
		want    string
	}{
		{"app.rt.ev._.user%2Ejoined", contract.Event{NS: "/", Event: "user.joined", Args: json.RawMessage(`[]`)}, "/ user.joined"},
		{"app.rt.ev.%5F.%5F", contract.Event{NS: "/_", Event: "_", Args: json.RawMessage(`[]`)}, "/_ _"},
		{"app.rt.ev.chat.a%20b", contract.Event{NS: "/chat", Event: "a b", Args: json.RawMessage(`[]`)}, "/chat a b"},
		{"app.rt.ev.game.ping", contract.Event{NS: "/game", Event: "ping", Args: json.RawMessage(`[]`)}, "/game ping"},
	} {
		e.request(tt.subject, tt.ev)
		if got := <-seen; got != tt.want {
			t.Errorf("%s: handled %q, want %q", tt.subject, got, tt.want)
		}
	}
}

// Two instances in the same queue group share the events: each is handled once.
func TestQueueGroup(t *testing.T) {
	e := setup(t, service.Options{})
	other, otherNC := e.newClient(service.Options{})
	var mu sync.Mutex
	handled := map[string][]int{}
	handler := func(id int) func(context.Context, *service.Request) (any, error) {
		return func(_ context.Context, r *service.Request) (any, error) {
			mu.Lock()
			handled[string(r.Args.Raw(0))] = append(handled[string(r.Args.Raw(0))], id)
			mu.Unlock()
			return id, nil
		}
	}
	e.handle("/chat", "work", handler(1))
	if _, err := other.Handle("/chat", "work", handler(2)); err != nil {
		t.Fatal(err)
	}
	if err := otherNC.Flush(); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		e.request("sb.ev.chat.work", event("work", fmt.Sprintf("[%d]", i)))
	}
	for i := range n / 2 {
		e.publish("sb.ev.chat.work", event("work", fmt.Sprintf("[%d]", n+i)))
	}
	byClient := map[int]int{}
	testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(handled) != n+n/2 {
			return fmt.Errorf("%d events handled", len(handled))
		}
		return nil
	})
	mu.Lock()
	for k, ids := range handled {
		if len(ids) != 1 {
			t.Errorf("event %s handled by %v", k, ids)
		}
		byClient[ids[0]]++
	}
	mu.Unlock()
	if byClient[1] == 0 || byClient[2] == 0 {
		t.Errorf("not load-balanced: %v", byClient)
	}
}

// With Concurrency 1, events are handled one at a time in arrival order;
// with more, handlers run at the same time.
func TestConcurrency(t *testing.T) {
	e := setup(t, service.Options{Concurrency: 1})
	var mu sync.Mutex
	var order []string
	running, maxRunning := 0, 0
	e.handle("/chat", "seq", func(_ context.Context, r *service.Request) (any, error) {
		mu.Lock()
		running++
		maxRunning = max(maxRunning, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		order = append(order, string(r.Args.Raw(0)))
		mu.Unlock()
		return nil, nil
	})
	const n = 20
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprint(i)
		e.publish("sb.ev.chat.seq", event("seq", fmt.Sprintf("[%d]", i)))
	}
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(order) < n {
			return fmt.Errorf("%d handled", len(order))
		}
		return nil
	})
	mu.Lock()
	if !reflect.DeepEqual(order, want) || maxRunning != 1 {
		t.Errorf("order %v, max running %d", order, maxRunning)
	}
	mu.Unlock()

	par, parNC := e.newClient(service.Options{Concurrency: 4, Queue: "par"})
	release := make(chan struct{})
	var started atomic.Int32
	if _, err := par.Handle("/chat", "par", func(context.Context, *service.Request) (any, error) {
		started.Add(1)
		<-release
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := parNC.Flush(); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		e.publish("sb.ev.chat.par", event("par", `[]`))
	}
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := started.Load(); n != 4 {
			return fmt.Errorf("%d running", n)
		}
		return nil
	})
	close(release)
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := started.Load(); n != 6 {
			return fmt.Errorf("%d started", n)
		}
		return nil
	})
}

// A reply larger than the NATS payload limit becomes a too_large error.
func TestHandleReplyTooLarge(t *testing.T) {
	t.Cleanup(func() { testutil.NoLeaks(t, module) })
	opts := natstest.Options()
	opts.MaxPayload = 4096
	srv := natstest.Start(t, opts)
	e := &env{t: t, srv: srv, edge: connect(t, srv)}
	e.c, e.svc = e.newClient(service.Options{})
	e.handle("/chat", "big", func(context.Context, *service.Request) (any, error) {
		return make([]byte, 8192), nil
	})
	reply := e.request("sb.ev.chat.big", event("big", `[]`))
	var er contract.ErrorReply
	if err := json.Unmarshal(reply, &er); err != nil || er.Error == nil || er.Error.Code != contract.CodeTooLarge {
		t.Errorf("reply %s", reply)
	}
}
