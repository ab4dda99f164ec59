package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
	"github.com/switchboard-rt/switchboard/service"
)

const module = "github.com/switchboard-rt/switchboard"

// startNATS starts an in-process NATS server on a free loopback port.
func startNATS(tb testing.TB) *server.Server { return natstest.Start(tb, nil) }

// newNATSServer starts a server for the examples, which have no testing.TB.
func newNATSServer() (*server.Server, error) {
	s, err := server.NewServer(natstest.Options())
	if err != nil {
		return nil, err
	}
	s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		s.Shutdown()
		return nil, errors.New("nats-server not ready")
	}
	return s, nil
}

// connect opens a NATS connection closed at cleanup.
func connect(tb testing.TB, s *server.Server) *nats.Conn { return natstest.Connect(tb, s.ClientURL()) }

// env is one test's world: a NATS server, the edge's connection (plain
// nats.go calls playing the edge) and a service Client on its own connection.
type env struct {
	t    *testing.T
	srv  *server.Server
	edge *nats.Conn
	c    *service.Client
	svc  *nats.Conn // c's connection
}

// setup builds an env; at cleanup the Client is shut down and no goroutine
// of the module may be left.
func setup(t *testing.T, opts service.Options) *env {
	t.Helper()
	t.Cleanup(func() { testutil.NoLeaks(t, module) }) // runs last
	e := &env{t: t, srv: startNATS(t)}
	e.edge = connect(t, e.srv)
	e.c, e.svc = e.newClient(opts)
	return e
}

// newClient returns another Client on a connection of its own.
func (e *env) newClient(opts service.Options) (*service.Client, *nats.Conn) {
	e.t.Helper()
	nc := connect(e.t, e.srv)
	c, err := service.New(nc, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Shutdown(ctx); err != nil {
			e.t.Errorf("Shutdown: %v", err)
		}
	})
	return c, nc
}

// flush makes sure the server has the subscriptions made on the Client's
// connection.
func (e *env) flush() {
	e.t.Helper()
	if err := e.svc.Flush(); err != nil {
		e.t.Fatal(err)
	}
}

// request sends body as a NATS request from the edge and returns the reply.
func (e *env) request(subject string, body any) []byte {
	e.t.Helper()
	m, err := e.edge.Request(subject, marshal(e.t, body), 5*time.Second)
	if err != nil {
		e.t.Fatalf("request %s: %v", subject, err)
	}
	return m.Data
}

// publish publishes body from the edge and flushes.
func (e *env) publish(subject string, body any) {
	e.t.Helper()
	if err := e.edge.Publish(subject, marshal(e.t, body)); err != nil {
		e.t.Fatal(err)
	}
	if err := e.edge.Flush(); err != nil {
		e.t.Fatal(err)
	}
}

func marshal(tb testing.TB, v any) []byte {
	tb.Helper()
	if b, ok := v.([]byte); ok {
		return b
	}
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// stub plays the edge that answers commands: it records each body received
// on subject and answers with reply (a JSON document), if not empty.
type stub struct {
	mu     sync.Mutex
	bodies []string
	sub    *nats.Subscription
}

func (e *env) stub(subject, reply string) *stub {
	e.t.Helper()
	st := &stub{}
	sub, err := e.edge.QueueSubscribe(subject, "switchboard-edges", func(m *nats.Msg) {
		st.mu.Lock()
		st.bodies = append(st.bodies, string(m.Data))
		st.mu.Unlock()
		if reply != "" && m.Reply != "" {
			_ = m.Respond([]byte(reply))
		}
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.edge.Flush(); err != nil {
		e.t.Fatal(err)
	}
	st.sub = sub
	return st
}

// wait returns the n-th body received (0-based), waiting for it.
func (st *stub) wait(tb testing.TB, n int) string {
	tb.Helper()
	var body string
	testutil.CheckFor(tb, 5*time.Second, 5*time.Millisecond, func() error {
		st.mu.Lock()
		defer st.mu.Unlock()
		if len(st.bodies) <= n {
			return fmt.Errorf("%d bodies received, waiting for #%d", len(st.bodies), n)
		}
		body = st.bodies[n]
		return nil
	})
	return body
}

func (st *stub) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.bodies)
}

// event is a contract.Event on namespace /chat from socket s1.
func event(name, args string, atts ...[]byte) contract.Event {
	return contract.Event{SID: "s1", NS: "/chat", Event: name, Args: json.RawMessage(args), Attachments: atts, Node: "n1"}
}

// handle registers h on the env's Client and flushes.
func (e *env) handle(ns, ev string, h func(context.Context, *service.Request) (any, error)) *service.Subscription {
	e.t.Helper()
	s, err := e.c.Handle(ns, ev, h)
	if err != nil {
		e.t.Fatal(err)
	}
	e.flush()
	return s
}
