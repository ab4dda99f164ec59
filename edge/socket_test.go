package edge

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConnectAndNamespaces(t *testing.T) {
	srv := newServer(t, Config{})
	srv.Of("/chat")
	srv.OfPattern(regexp.MustCompile(`^/dyn-\d+$`))
	c := dial(t, srv)
	c.connect("/")
	c.connect("/chat")
	c.connect("/dyn-42")
	c.send("0/nope,")
	c.expect(`4/nope,{"message":"Invalid namespace"}`)
	c.send("0/dyn-x")
	c.expect(`4/dyn-x,{"message":"Invalid namespace"}`)
	if n := srv.Of("/chat").Len(); n != 1 {
		t.Fatalf("/chat has %d sockets", n)
	}
	// A second CONNECT for a joined namespace is an invalid state.
	c.send("0/chat,")
	c.waitClosed()
}

func TestMiddlewareConnectError(t *testing.T) {
	srv := newServer(t, Config{})
	nsp := srv.Of("/auth")
	nsp.Use(func(s *Socket) error {
		if !strings.Contains(string(s.Handshake().Auth), "secret") {
			return &ConnectError{Message: "unauthorized", Data: map[string]int{"code": 401}}
		}
		return nil
	})
	nsp.Use(func(s *Socket) error { s.SetData("ok"); return nil })
	c := dial(t, srv)
	c.send(`0/auth,{"token":"nope"}`)
	c.expect(`4/auth,{"message":"unauthorized","data":{"code":401}}`)
	c.send(`0/auth,{"token":"secret"}`)
	if got := c.next(); !strings.HasPrefix(got, `0/auth,{"sid":"`) {
		t.Fatalf("CONNECT reply %q", got)
	}
	for _, s := range srv.Of("/auth").To().Sockets() {
		if s.Data() != "ok" {
			t.Fatalf("data %v", s.Data())
		}
	}
}

func TestEventsAcksAndArgs(t *testing.T) {
	srv := newServer(t, Config{})
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("createRoom", func(e *Event) {
			var req struct {
				Name string `json:"name"`
			}
			if err := e.Args.Decode(0, &req); err != nil {
				t.Error(err)
			}
			_ = e.Ack(map[string]string{"id": "room-" + req.Name, "status": "ok"})
		})
		s.On("echo", func(e *Event) { _ = e.Ack(e.Args) })
		s.On("file", func(e *Event) {
			var msg struct {
				Name string `json:"name"`
				Data []byte `json:"data"`
			}
			if err := e.Args.Decode(0, &msg); err != nil {
				t.Error(err)
			}
			_ = e.Ack(len(msg.Data), msg.Name, msg.Data)
		})
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`27["createRoom",{"name":"general"}]`)
	c.expect(`37[{"id":"room-general","status":"ok"}]`)
	c.send(`28["echo",{"z":1,"a":[true,null]},"x"]`)
	c.expect(`38[{"z":1,"a":[true,null]},"x"]`)
	c.send(`51-9["file",{"name":"f","data":{"_placeholder":true,"num":0}}]`)
	c.sendBinary([]byte{1, 2, 3})
	c.expect(`61-9[3,"f",{"_placeholder":true,"num":0}]`)
	c.expect(`<bin:01 02 03>`)
}

func TestHandlerPanicCostsOnlyThatSocket(t *testing.T) {
	srv := newServer(t, Config{})
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("boom", func(*Event) { panic("kaboom") })
		s.On("ping", func(e *Event) { _ = e.Ack("pong") })
	})
	a, b := dial(t, srv), dial(t, srv)
	a.connect("/")
	b.connect("/")
	a.send(`2["boom"]`)
	a.expect("1")
	b.send(`21["ping"]`)
	b.expect(`31["pong"]`)
	if n := srv.Of("/").Len(); n != 1 {
		t.Fatalf("%d sockets after the panic, want 1", n)
	}
}

func TestProtocolErrorsCloseTheConnection(t *testing.T) {
	for _, tc := range []struct {
		name    string
		packets []string
	}{
		{"garbage", []string{"abc"}},
		{"event before connect", []string{`2["x"]`}},
		{"reserved event", []string{"0", `2["disconnect"]`}},
		{"non-array event", []string{"0", `2{}`}},
		{"too many attachments", []string{"0", `511-["x"]`}},
		{"text while attachments pending", []string{"0", `51-["x",{"_placeholder":true,"num":0}]`, `2["y"]`}},
		{"binary when none expected", []string{"0", "\x00bin"}},
		{"client connect error", []string{"0", `4{"message":"x"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, Config{})
			c := dial(t, srv)
			for _, p := range tc.packets {
				if strings.HasPrefix(p, "\x00") {
					c.sendBinary([]byte(p[1:]))
					continue
				}
				c.send(p)
			}
			c.waitClosed()
		})
	}
}

func TestAttachmentLimits(t *testing.T) {
	t.Run("bytes", func(t *testing.T) {
		srv := newServer(t, Config{MaxAttachmentBytes: 4})
		c := dial(t, srv)
		c.connect("/")
		c.send(`51-["x",{"_placeholder":true,"num":0}]`)
		c.sendBinary([]byte("12345"))
		c.waitClosed()
	})
	t.Run("completion time", func(t *testing.T) {
		srv := newServer(t, Config{AttachmentTimeout: 50 * time.Millisecond})
		c := dial(t, srv)
		c.connect("/")
		c.send(`52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		c.sendBinary([]byte("1"))
		c.waitClosed()
	})
}

func TestConnectTimeout(t *testing.T) {
	srv := newServer(t, Config{ConnectTimeout: 50 * time.Millisecond})
	c := dial(t, srv)
	c.waitClosed()
}

func TestEmitWithAck(t *testing.T) {
	srv := newServer(t, Config{})
	socks := make(chan *Socket, 1)
	srv.Of("/").OnConnection(func(s *Socket) { socks <- s })
	c := dial(t, srv)
	c.connect("/")
	s := <-socks
	if err := s.Emit("connect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("emit reserved: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		a, err := s.EmitWithAck(ctx, "q", 1)
		if err == nil && string(a.JSON()) != `["yes",{"n":2}]` {
			err = fmt.Errorf("ack args %s", a.JSON())
		}
		done <- err
	}()
	got := c.next()
	if !strings.HasPrefix(got, "2") || !strings.HasSuffix(got, `["q",1]`) {
		t.Fatalf("event %q", got)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(got, "2"), `["q",1]`)
	c.send("3" + id + `["yes",{"n":2}]`)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "q"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("unanswered ack: %v, want ErrAckTimeout", err)
	}
	_ = c.next()

	failed := make(chan error, 1)
	_ = s.EmitWithAckFunc(time.Minute, func(_ Args, err error) { failed <- err }, "q")
	_ = c.next()
	c.send("1")
	select {
	case err := <-failed:
		if !errors.Is(err, ErrDisconnected) {
			t.Fatalf("pending ack after disconnect: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("pending ack not failed on disconnect")
	}
}

func TestBroadcastSelection(t *testing.T) {
	srv := newServer(t, Config{})
	nsp := srv.Of("/")
	clients := make([]*fakeClient, 4)
	ids := make([]string, 4)
	for i := range clients {
		clients[i] = dial(t, srv)
		ids[i] = clients[i].connect("/")
	}
	sock := func(i int) *Socket { return nsp.Socket(ids[i]) }
	sock(0).Join("a")
	sock(1).Join("a", "b")
	sock(2).Join("b")

	check := func(event string, want ...int) {
		t.Helper()
		for i, c := range clients {
			if contains(want, i) {
				c.expect(`2["` + event + `"]`)
			}
			c.quiet()
		}
	}
	_ = nsp.To("a").Emit("a")
	check("a", 0, 1)
	_ = nsp.To("a", "b").Emit("ab") // socket 1 once
	check("ab", 0, 1, 2)
	_ = nsp.To("a", "b").Except("b").Emit("a-not-b")
	check("a-not-b", 0)
	_ = nsp.Emit("all")
	check("all", 0, 1, 2, 3)
	_ = sock(1).Broadcast().Emit("others")
	check("others", 0, 2, 3)
	_ = nsp.To(ids[3]).Emit("direct")
	check("direct", 3)
	nsp.To("b").Join("c")
	_ = nsp.To("c").Emit("c")
	check("c", 1, 2)
	if got := sock(1).Rooms(); len(got) != 4 || !slices.Contains(got, "a") || !slices.Contains(got, "b") || !slices.Contains(got, "c") || !slices.Contains(got, ids[1]) || !slices.IsSorted(got) {
		t.Fatalf("rooms %v, want a, b, c and its id, sorted", got)
	}
	nsp.To("c").Leave("c")
	_ = nsp.To("c").Emit("c")
	check("c")
}

func TestBroadcastWithAck(t *testing.T) {
	srv := newServer(t, Config{})
	nsp := srv.Of("/")
	a, b := dial(t, srv), dial(t, srv)
	ida := a.connect("/")
	b.connect("/")
	nsp.Socket(ida).Join("r")
	res := make(chan []Args, 1)
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		answers, err := nsp.EmitWithAckAll(ctx, "q")
		res <- answers
		errc <- err
	}()
	for _, c := range []*fakeClient{a, b} {
		got := c.next()
		id := strings.TrimSuffix(strings.TrimPrefix(got, "2"), `["q"]`)
		c.send("3" + id + `["answer"]`)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if answers := <-res; len(answers) != 2 {
		t.Fatalf("%d answers, want 2", len(answers))
	}
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestNamespaceHandlersAndSocketIDRooms(t *testing.T) {
	srv := newServer(t, Config{})
	nsp := srv.Of("/")
	nsp.On("hi", func(e *Event) { _ = e.Ack("nsp") })
	nsp.OnConnection(func(s *Socket) {
		if s.Handshake().Auth != nil && strings.Contains(string(s.Handshake().Auth), "own") {
			s.On("hi", func(e *Event) { _ = e.Ack("socket") })
		}
	})
	a, b := dial(t, srv), dial(t, srv)
	ida := a.connect("/")
	b.send(`0{"own":true}`)
	idb := strings.TrimSuffix(strings.TrimPrefix(b.next(), `0{"sid":"`), `"}`)
	a.send(`21["hi"]`)
	a.expect(`31["nsp"]`)
	b.send(`21["hi"]`)
	b.expect(`31["socket"]`)

	// Socket-id rooms work without an index entry, in rooms and in except.
	_ = nsp.To(ida, idb).Except(idb).Emit("x")
	a.expect(`2["x"]`)
	b.quiet()
	nsp.Socket(idb).Join(ida) // a room that happens to be named like another socket
	_ = nsp.To(ida).Emit("y")
	a.expect(`2["y"]`)
	b.expect(`2["y"]`)
	if rooms := nsp.Rooms(); len(rooms) != 2 {
		t.Fatalf("rooms %v, want the two socket ids", rooms)
	}
}
