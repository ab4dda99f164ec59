package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/service"
)

// The examples run against an in-process NATS server and play the edge with
// plain nats.go calls, sending what an edge sends.
func exampleConn() (nc *nats.Conn, stop func()) {
	srv, err := newNATSServer()
	if err != nil {
		panic(err)
	}
	nc, err = nats.Connect(srv.ClientURL())
	if err != nil {
		panic(err)
	}
	return nc, func() { nc.Close(); srv.Shutdown() }
}

// A client of namespace /chat runs socket.emit("createRoom", {name:
// "general"}, callback); the edge turns it into a request on
// sb.ev.chat.createRoom, and the reply becomes the callback's arguments.
func ExampleClient_Handle() {
	nc, stop := exampleConn()
	defer stop()
	c, _ := service.New(nc, service.Options{})
	defer c.Shutdown(context.Background())

	_, _ = c.Handle("/chat", "createRoom", func(ctx context.Context, r *service.Request) (any, error) {
		var req struct {
			Name string `json:"name"`
		}
		if err := r.Args.Decode(0, &req); err != nil || req.Name == "" {
			return nil, &contract.Error{Code: contract.CodeBadRequest, Message: "want {name}"}
		}
		r.Join("room-" + req.Name) // the socket joins before it gets the ack
		return map[string]string{"id": "room-" + req.Name, "status": "ok"}, nil
	})
	_ = nc.Flush()

	// The edge's side.
	ask := func(args string) {
		ev := `{"sid":"s1","ns":"/chat","event":"createRoom","args":` + args + `,"node":"n1"}`
		reply, _ := nc.Request("sb.ev.chat.createRoom", []byte(ev), time.Second)
		fmt.Println(string(reply.Data))
	}
	ask(`[{"name":"general"}]`)
	ask(`[42]`)
	// Output:
	// {"args":[{"id":"room-general","status":"ok"}],"join":["room-general"]}
	// {"error":{"code":"bad_request","message":"want {name}"}}
}

// Commands go to the cluster through one edge, which answers.
func ExampleTarget_Emit() {
	nc, stop := exampleConn()
	defer stop()
	c, _ := service.New(nc, service.Options{})

	// The edge's side.
	_, _ = nc.QueueSubscribe("sb.cmd.emit", "switchboard-edges", func(m *nats.Msg) {
		fmt.Println(string(m.Data))
		_ = m.Respond([]byte(`{"ok":true,"matched":2,"missing_nodes":[]}`))
	})

	ctx := context.Background()
	reply, err := c.Of("/chat").To("general").Except("muted").Emit(ctx, "msg", "hello", []byte{1, 2, 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("matched", reply.Matched)
	// Output:
	// {"ns":"/chat","rooms":["general"],"except":["muted"],"event":"msg","args":["hello",{"_placeholder":true,"num":0}],"attachments":["AQID"]}
	// matched 2
}

// EmitWithAck collects the acknowledgements of the selected sockets.
func ExampleTarget_EmitWithAck() {
	nc, stop := exampleConn()
	defer stop()
	c, _ := service.New(nc, service.Options{})

	// The edge's side: two sockets matched, one answered in time.
	_, _ = nc.QueueSubscribe("sb.cmd.emit", "switchboard-edges", func(m *nats.Msg) {
		fmt.Println(string(m.Data))
		_ = m.Respond([]byte(`{"ok":true,"matched":2,"acks":[{"sid":"s1","args":[{"vote":"yes"}]}],"timed_out":1,"missing_nodes":[]}`))
	})

	acks, reply, err := c.Of("/poll").EmitWithAck(context.Background(), 3*time.Second, "vote?")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range acks {
		var v struct{ Vote string }
		_ = a.Args.Decode(0, &v)
		fmt.Println(a.SID, v.Vote)
	}
	fmt.Println("timed out:", reply.TimedOut)
	// Output:
	// {"ns":"/poll","event":"vote?","args":[],"ack_timeout_ms":3000}
	// s1 yes
	// timed out: 1
}

// An auth service accepts or refuses the connections of a namespace that
// the edges are configured to authenticate (--auth-namespace).
func ExampleClient_HandleAuth() {
	nc, stop := exampleConn()
	defer stop()
	c, _ := service.New(nc, service.Options{})
	defer c.Shutdown(context.Background())

	_, _ = c.HandleAuth("/chat", func(ctx context.Context, r *contract.AuthRequest) (*service.AuthResult, error) {
		var auth struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(r.Auth, &auth)
		switch auth.Token {
		case "":
			return nil, errors.New("token required")
		case "expired":
			return nil, &service.ConnectError{Message: "token expired", Data: map[string]bool{"renew": true}}
		}
		return &service.AuthResult{User: "u-" + auth.Token, Data: map[string]string{"plan": "pro"}}, nil
	})
	_ = nc.Flush()

	// The edge's side.
	for _, auth := range []string{`{"token":"42"}`, `{"token":"expired"}`, `{}`} {
		req := `{"sid":"s1","ns":"/chat","auth":` + auth + `,"handshake":{"headers":{},"query":{},"address":"::1","url":"/socket.io/"},"node":"n1"}`
		reply, _ := nc.Request("sb.auth.chat", []byte(req), time.Second)
		fmt.Println(string(reply.Data))
	}
	// Output:
	// {"ok":true,"data":{"plan":"pro"},"user":"u-42"}
	// {"ok":false,"message":"token expired","data":{"renew":true}}
	// {"ok":false,"message":"token required"}
}
