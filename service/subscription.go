package service

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Subscription is one registered handler: a NATS queue subscription whose
// messages are handled in goroutines of their own (see the package
// documentation).
type Subscription struct {
	c       *Client
	sub     *nats.Subscription
	handle  func(ctx context.Context, m *nats.Msg)
	refusal []byte // the reply to a request that arrives while stopping

	ctx     context.Context // parent of the handler contexts of this subscription
	cancel  context.CancelFunc
	work    chan *nats.Msg // hands messages to idle workers
	workers atomic.Int32   // worker goroutines running
	active  tracker

	draining  atomic.Bool
	closed    chan struct{} // closed once NATS delivers no more messages
	closeOnce sync.Once
}

// subscribe registers handle for subject in the queue group; refusal is
// the reply to requests that arrive while the subscription is stopping.
func (c *Client) subscribe(subject string, refusal []byte, handle func(ctx context.Context, m *nats.Msg)) (*Subscription, error) {
	c.mu.Lock()
	shut := c.shut
	c.mu.Unlock()
	if shut {
		return nil, ErrClosed
	}
	s := &Subscription{
		c:       c,
		handle:  handle,
		refusal: refusal,
		work:    make(chan *nats.Msg),
		closed:  make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(c.ctx)
	sub, err := c.nc.QueueSubscribe(subject, c.opts.Queue, s.deliver)
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("service: subscribe %s: %w", subject, err)
	}
	s.sub = sub
	sub.SetClosedHandler(func(string) { s.onClosed() })
	if !sub.IsValid() { // closed before the handler was set
		s.onClosed()
	}

	c.mu.Lock()
	if c.shut { // Shutdown ran meanwhile and did not see this one
		c.mu.Unlock()
		_ = s.Unsubscribe()
		return nil, ErrClosed
	}
	select {
	case <-s.closed: // closed already (and onClosed found nothing to delete)
	default:
		c.subs[s] = struct{}{}
	}
	c.mu.Unlock()
	return s, nil
}

// Subject returns the subscribed subject.
func (s *Subscription) Subject() string { return s.sub.Subject }

// Unsubscribe stops the delivery of messages at once and cancels the ctx of
// the handler calls still running (their replies are still sent).
func (s *Subscription) Unsubscribe() error {
	s.cancel()
	err := s.sub.Unsubscribe()
	if err != nil && !s.sub.IsValid() {
		s.onClosed()
		return nil // already closed, e.g. with the connection
	}
	return err
}

// Drain stops the subscription once the messages NATS has already delivered
// to it are handled, and waits for its handler calls to return. When ctx ends
// first, it cancels their ctx and returns ctx.Err().
func (s *Subscription) Drain(ctx context.Context) error {
	s.startDrain()
	select {
	case <-s.closed:
	case <-ctx.Done():
		s.cancel()
		return ctx.Err()
	}
	if err := s.active.wait(ctx); err != nil {
		s.cancel()
		return err
	}
	s.cancel()
	return nil
}

func (s *Subscription) startDrain() {
	s.draining.Store(true)
	if err := s.sub.Drain(); err != nil {
		// Not drainable (closed, or the connection is reconnecting): stop now,
		// letting running calls finish.
		if s.sub.Unsubscribe() != nil && !s.sub.IsValid() {
			s.onClosed()
		}
	}
}

// onClosed runs once NATS delivers no more messages: after an Unsubscribe,
// a completed Drain, or the close of the connection.
func (s *Subscription) onClosed() {
	s.closeOnce.Do(func() {
		if !s.draining.Load() {
			s.cancel() // unsubscribed, or the connection closed: replies are moot
		}
		close(s.closed)
		s.c.mu.Lock()
		delete(s.c.subs, s)
		s.c.mu.Unlock()
	})
}

// deliver is the NATS message callback: it runs on the subscription's
// delivery goroutine and hands each message to a worker goroutine, waiting
// while Concurrency handler calls are running. Workers stay for a while
// after their last message: a goroutine per message would pay for a fresh
// stack, grown again (copied) by every call.
func (s *Subscription) deliver(m *nats.Msg) {
	if s.ctx.Err() != nil {
		s.refuse(m)
		return
	}
	s.active.begin()
	s.c.active.begin()
	select {
	case s.work <- m: // an idle worker takes it
		return
	default:
	}
	if s.workers.Add(1) <= int32(s.c.opts.Concurrency) {
		go s.worker(m)
		return
	}
	s.workers.Add(-1)
	select {
	case s.work <- m:
	case <-s.ctx.Done():
		s.active.end()
		s.c.active.end()
		s.refuse(m)
	}
}

// workerIdle is how long a worker waits for another message before it exits.
const workerIdle = 2 * time.Second

func (s *Subscription) worker(m *nats.Msg) {
	defer s.workers.Add(-1)
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		s.run(m)
		idle.Reset(workerIdle)
		select {
		case m = <-s.work:
		case <-idle.C:
			return
		case <-s.ctx.Done():
			return
		case <-s.closed:
			return
		}
	}
}

// run handles one message with the handler deadline.
func (s *Subscription) run(m *nats.Msg) {
	defer func() {
		s.active.end()
		s.c.active.end()
	}()
	ctx, cancel := s.ctx, context.CancelFunc(func() {})
	if d := s.c.opts.HandlerTimeout; d > 0 {
		ctx, cancel = context.WithTimeout(ctx, d)
	}
	defer cancel()
	s.handle(ctx, m)
}

// refuse answers a request that arrived while the subscription was stopping,
// so that the edge need not wait for its timeout.
func (s *Subscription) refuse(m *nats.Msg) {
	if m.Reply == "" || s.refusal == nil {
		return
	}
	if err := s.c.nc.Publish(m.Reply, s.refusal); err != nil {
		s.c.log.Warn("service: reply failed", "subject", m.Subject, "err", err)
	}
}
