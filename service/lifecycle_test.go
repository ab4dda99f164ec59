package service_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/service"
)

// blocker is a handler that signals its start and returns when released or
// when its ctx ends, reporting which.
type blocker struct {
	started chan struct{}
	release chan struct{}
	ended   chan error // nil when released, else ctx.Err()
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 8), release: make(chan struct{}), ended: make(chan error, 8)}
}

func (b *blocker) handle(ctx context.Context, _ *service.Request) (any, error) {
	b.started <- struct{}{}
	select {
	case <-b.release:
		b.ended <- nil
		return "released", nil
	case <-ctx.Done():
		b.ended <- ctx.Err()
		return nil, ctx.Err()
	}
}

// requestAsync sends a request from the edge and delivers its reply (or
// error text) on the returned channel.
func (e *env) requestAsync(subject string, body any, timeout time.Duration) <-chan string {
	out := make(chan string, 1)
	data := marshal(e.t, body)
	go func() {
		m, err := e.edge.Request(subject, data, timeout)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		out <- string(m.Data)
	}()
	return out
}

func TestShutdownWaitsForHandlers(t *testing.T) {
	e := setup(t, service.Options{HandlerTimeout: -1})
	b := newBlocker()
	e.handle("/chat", "slow", b.handle)
	reply := e.requestAsync("sb.ev.chat.slow", event("slow", `[]`), 5*time.Second)
	<-b.started

	done := make(chan error, 1)
	go func() { done <- e.c.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while a handler runs", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := <-reply; got != `{"args":["released"]}` {
		t.Errorf("reply %s", got)
	}
	if _, err := e.c.Handle("/chat", "x", b.handle); !errors.Is(err, service.ErrClosed) {
		t.Errorf("Handle after Shutdown: %v", err)
	}
	if _, err := e.c.OnConnect("/chat", func(context.Context, *contract.Conn) {}); !errors.Is(err, service.ErrClosed) {
		t.Errorf("OnConnect after Shutdown: %v", err)
	}
	// No subscription is left: the next event finds no responder.
	if _, err := e.edge.Request("sb.ev.chat.slow", marshal(t, event("slow", `[]`)), time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("request after Shutdown: %v", err)
	}
}

func TestShutdownDeadlineCancelsHandlers(t *testing.T) {
	e := setup(t, service.Options{HandlerTimeout: -1})
	b := newBlocker()
	e.handle("/chat", "slow", b.handle)
	reply := e.requestAsync("sb.ev.chat.slow", event("slow", `[]`), 5*time.Second)
	<-b.started
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := e.c.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-b.ended; !errors.Is(err, context.Canceled) {
		t.Errorf("handler ended with %v", err)
	}
	if got := <-reply; got != `{"error":{"code":"service_error","message":"context canceled"}}` {
		t.Errorf("reply %s", got)
	}
}

func TestUnsubscribeAndDrain(t *testing.T) {
	e := setup(t, service.Options{HandlerTimeout: -1})

	// Unsubscribe cancels running handlers at once.
	b := newBlocker()
	s := e.handle("/chat", "a", b.handle)
	if s.Subject() != "sb.ev.chat.a" {
		t.Errorf("subject %s", s.Subject())
	}
	reply := e.requestAsync("sb.ev.chat.a", event("a", `[]`), 5*time.Second)
	<-b.started
	if err := s.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := <-b.ended; !errors.Is(err, context.Canceled) {
		t.Errorf("handler ended with %v", err)
	}
	<-reply

	// Drain lets them finish and waits for them.
	b2 := newBlocker()
	s2 := e.handle("/chat", "b", b2.handle)
	reply = e.requestAsync("sb.ev.chat.b", event("b", `[]`), 5*time.Second)
	<-b2.started
	done := make(chan error, 1)
	go func() { done <- s2.Drain(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Drain returned %v while a handler runs", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(b2.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-b2.ended; err != nil {
		t.Errorf("handler ended with %v", err)
	}
	if got := <-reply; got != `{"args":["released"]}` {
		t.Errorf("reply %s", got)
	}
	if err := s2.Unsubscribe(); err != nil {
		t.Errorf("Unsubscribe after Drain: %v", err)
	}
}

// A request that reaches a stopping subscription is answered "unavailable"
// at once instead of leaving the edge to time out.
func TestStoppingRefuses(t *testing.T) {
	e := setup(t, service.Options{})
	var called atomic.Int32
	s := e.handle("/chat", "a", func(context.Context, *service.Request) (any, error) { called.Add(1); return nil, nil })
	auth, err := e.c.HandleAuth("/chat", func(context.Context, *contract.AuthRequest) (*service.AuthResult, error) {
		called.Add(1)
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := auth.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    *service.Subscription
		want string
	}{
		{s, `{"error":{"code":"unavailable","message":"service is shutting down"}}`},
		{auth, `{"ok":false,"message":"authentication unavailable"}`},
	} {
		inbox := nats.NewInbox()
		sub, err := e.edge.SubscribeSync(inbox)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.edge.Flush(); err != nil {
			t.Fatal(err)
		}
		tt.s.Deliver(&nats.Msg{Subject: tt.s.Subject(), Reply: inbox, Data: marshal(t, event("a", `[]`))})
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) != tt.want {
			t.Errorf("%s: reply %s, want %s", tt.s.Subject(), m.Data, tt.want)
		}
		_ = sub.Unsubscribe()
	}
	if called.Load() != 0 {
		t.Error("handler called after Unsubscribe")
	}
}

// Closing the NATS connection cancels the running handlers.
func TestConnectionCloseCancels(t *testing.T) {
	e := setup(t, service.Options{HandlerTimeout: -1})
	b := newBlocker()
	e.handle("/chat", "a", b.handle)
	reply := e.requestAsync("sb.ev.chat.a", event("a", `[]`), 200*time.Millisecond)
	<-b.started
	e.svc.Close()
	if err := <-b.ended; !errors.Is(err, context.Canceled) {
		t.Errorf("handler ended with %v", err)
	}
	if got := <-reply; got != "error: "+nats.ErrTimeout.Error() {
		t.Errorf("reply %s", got)
	}
}

// The handler's ctx has the deadline of Options.HandlerTimeout.
func TestHandlerDeadline(t *testing.T) {
	e := setup(t, service.Options{HandlerTimeout: 2 * time.Second})
	got := make(chan time.Duration, 1)
	e.handle("/chat", "a", func(ctx context.Context, _ *service.Request) (any, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return nil, errors.New("no deadline")
		}
		got <- time.Until(d)
		return nil, nil
	})
	e.request("sb.ev.chat.a", event("a", `[]`))
	if d := <-got; d <= time.Second || d > 2*time.Second {
		t.Errorf("deadline in %v", d)
	}
}
