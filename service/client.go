package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
)

// Defaults of Options.
const (
	DefaultQueue          = "switchboard-service"
	DefaultTimeout        = 10 * time.Second
	DefaultHandlerTimeout = 10 * time.Second
	DefaultConcurrency    = 64
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrNoEdge is returned by a command when no edge is subscribed to its
	// subject (NATS "no responders"); it also matches nats.ErrNoResponders.
	ErrNoEdge = errors.New("service: no edge answers commands")
	// ErrClosed is returned by Handle and the other subscribing calls after
	// Client.Shutdown.
	ErrClosed = errors.New("service: client shut down")
	// ErrBadReply is returned when a reply cannot be decoded.
	ErrBadReply = errors.New("service: malformed reply")
)

// Options configure a Client. The zero value works.
type Options struct {
	// Prefix is the first token(s) of every subject, like the edges'
	// --subject-prefix. Zero means "sb".
	Prefix string
	// Queue is the NATS queue group of every subscription: instances of a
	// service that share it each receive a share of the messages. Give each
	// instance a queue of its own to have all of them receive every message.
	// Zero means "switchboard-service".
	Queue string
	// Timeout bounds each command request in addition to its ctx (for
	// EmitWithAck, on top of the ack timeout). Zero means 10s: longer than
	// the edges' default --request-timeout (5s), after which the edge that
	// handles a command answers with the nodes still missing.
	Timeout time.Duration
	// HandlerTimeout is the deadline of the ctx given to each handler call.
	// Zero means 10s, the edges' default --ack-timeout, after which the client
	// has already received a timeout; negative means no deadline.
	HandlerTimeout time.Duration
	// Concurrency is the number of handler calls that may run at once per
	// subscription. Zero means 64; 1 handles messages one at a time, in
	// arrival order.
	Concurrency int
	// Logger receives handler errors and panics, undecodable messages and
	// failed replies. Zero means discard.
	Logger *slog.Logger
}

// Client is a connection of a service to a Switchboard cluster over a NATS
// connection that the caller owns. It is safe for concurrent use.
type Client struct {
	nc   *nats.Conn
	subj contract.Subjects
	opts Options
	log  *slog.Logger

	ctx    context.Context // parent of every handler ctx; canceled by Shutdown
	cancel context.CancelFunc
	active tracker // running handler calls of every subscription

	mu   sync.Mutex
	subs map[*Subscription]struct{} // open subscriptions
	shut bool
}

// New returns a Client that uses nc. It fails when nc is nil or the prefix
// is not dot-separated tokens of [A-Za-z0-9_-].
func New(nc *nats.Conn, opts Options) (*Client, error) {
	if nc == nil {
		return nil, errors.New("service: nil NATS connection")
	}
	if opts.Prefix == "" {
		opts.Prefix = contract.DefaultPrefix
	}
	if !contract.ValidPrefix(opts.Prefix) {
		return nil, fmt.Errorf("service: invalid subject prefix %q", opts.Prefix)
	}
	if opts.Queue == "" {
		opts.Queue = DefaultQueue
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.HandlerTimeout == 0 {
		opts.HandlerTimeout = DefaultHandlerTimeout
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		nc:     nc,
		subj:   contract.Subjects{Prefix: opts.Prefix},
		opts:   opts,
		log:    opts.Logger,
		ctx:    ctx,
		cancel: cancel,
		subs:   make(map[*Subscription]struct{}),
	}, nil
}

// Shutdown drains every subscription of the Client (messages already
// delivered to it are still handled), waits for the running handler calls
// to return, and refuses new subscriptions with ErrClosed. When ctx ends
// first, it cancels the ctx of the handlers still running and returns
// ctx.Err() without waiting for them further. Commands keep working: they
// only need the NATS connection, which Shutdown neither drains nor closes.
// Call it before draining or closing the connection.
func (c *Client) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.shut = true
	subs := make([]*Subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()

	defer c.cancel()
	for _, s := range subs {
		s.startDrain()
	}
	for _, s := range subs {
		select {
		case <-s.closed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.active.wait(ctx)
}

// subject builds P.<kind>.<ns>, with "*" for every namespace.
func (c *Client) nsSubject(kind, ns string) string {
	if ns == "*" {
		return c.opts.Prefix + "." + kind + ".*"
	}
	return c.opts.Prefix + "." + kind + "." + contract.NamespaceToken(ns)
}

// normalizeNS returns ns as the edges name it: "/" for "", a leading "/"
// added when missing.
func normalizeNS(ns string) string {
	if !strings.HasPrefix(ns, "/") {
		return "/" + ns
	}
	return ns
}

// tracker counts running calls and lets callers wait for none to be left.
type tracker struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while nobody waits
}

func (t *tracker) begin() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

func (t *tracker) end() {
	t.mu.Lock()
	t.n--
	if t.n == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

// wait returns when no call is running, or ctx.Err() when ctx ends first.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
