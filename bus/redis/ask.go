package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/bus/redis/wire"
)

// call is a request in flight: who must answer, what came back. handle runs on the subscriber
// goroutine; the requester reads the outcome once finished is set.
type call struct {
	typ   wire.RequestType
	plan  peerPlan
	done  chan struct{} // closed when every expected answer is in
	reply func(bus.Message)
	count func(int)
	ack   func(bus.Message)

	mu       sync.Mutex
	finished bool
	answered map[string]bool // Switchboard uids that answered
	anon     int             // answers without a uid (Node servers)
	sockets  []bus.SocketInfo
	rooms    []string
	matched  int
	clients  int // BROADCAST: clients counted by the answering nodes
	acks     int // BROADCAST: client acks received
}

// roomOp reports whether t is a request that Node servers never answer.
func roomOp(t wire.RequestType) bool {
	return t == wire.RemoteJoin || t == wire.RemoteLeave || t == wire.RemoteDisconnect
}

// handle takes one answer. Callbacks run with c.mu held, so they never overlap and never run
// after the request returned.
func (c *call) handle(r *wire.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	if c.typ == wire.BroadcastRequest && r.Type == wire.BroadcastAck {
		c.acks++
		c.ack(bus.Message{Data: wrapArg(r.Packet), Attachments: r.Attachments})
	} else {
		if c.typ == wire.BroadcastRequest && r.Type != wire.BroadcastClientCount {
			return
		}
		if r.UID != "" {
			if c.answered[r.UID] {
				return // a node answers once
			}
			c.answered[r.UID] = true
		} else {
			c.anon++
		}
		switch c.typ {
		case wire.BroadcastRequest:
			c.clients += r.ClientCount
			c.count(r.ClientCount)
		case wire.RemoteFetch:
			c.sockets = fromWireSockets(c.sockets, r.UID, r.Sockets)
		case wire.AllRooms:
			c.rooms = append(c.rooms, r.Rooms...)
		case wire.ServerSideEmit:
			c.reply(bus.Message{Data: wrapArg(r.Data), Attachments: r.Attachments})
		default:
			if r.Matched != nil {
				c.matched += *r.Matched
			}
		}
	}
	if c.completeLocked() {
		c.finished = true
		close(c.done)
	}
}

// completeLocked reports whether every expected answer is in: each live Switchboard node of
// the namespace, as many answers as the request channel has other subscribers (except for
// join/leave/disconnect, which Node servers never answer), and for BROADCAST every counted ack.
func (c *call) completeLocked() bool {
	for _, id := range c.plan.known {
		if !c.answered[id] {
			return false
		}
	}
	if roomOp(c.typ) {
		return true
	}
	if len(c.answered)+c.anon < c.plan.need {
		return false
	}
	return c.typ != wire.BroadcastRequest || c.acks >= c.clients
}

// resultLocked names the nodes that did not answer: known nodes by id, dead registered nodes,
// and "unknown-N" for each answer owed by an anonymous subscriber (a Node server) that did
// not come.
func (c *call) resultLocked() bus.Result {
	res := bus.Result{Answered: len(c.answered) + c.anon, Missing: []string{}}
	knownIn := 0
	for _, id := range c.plan.known {
		if c.answered[id] {
			knownIn++
		} else {
			res.Missing = append(res.Missing, id)
		}
	}
	res.Missing = append(res.Missing, c.plan.dead...)
	slices.Sort(res.Missing)
	owed := c.plan.need - len(c.plan.known)
	got := res.Answered - knownIn
	for i := 1; i <= owed-got; i++ {
		res.Missing = append(res.Missing, "unknown-"+strconv.Itoa(i))
	}
	return res
}

// request publishes q and waits until every expected node answered, wait passed, ctx ended or
// the namespace closed. A deadline reached is not an error (the Result names the missing
// nodes); a cancelled ctx is. c is filled in by the subscriber meanwhile.
func (n *namespace) request(ctx context.Context, q *wire.Request, c *call, wait time.Duration) (bus.Result, error) {
	empty := bus.Result{Missing: []string{}}
	if err := n.check(ctx); err != nil {
		return empty, err
	}
	if err := n.a.Ready(); err != nil {
		return empty, err
	}
	q.UID = n.a.id
	if q.RequestID == "" {
		q.RequestID = randomID(12)
	}
	msg, err := wire.EncodeRequest(q)
	if err != nil {
		return empty, fmt.Errorf("bus/redis: %s request: %w", q.Type, err)
	}
	if len(msg) > n.a.cfg.MaxMessageBytes {
		return empty, fmt.Errorf("bus/redis: %s request of %d bytes: %w", q.Type, len(msg), bus.ErrTooLarge)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	c.plan, err = n.plan(wctx)
	if err != nil {
		if ctx.Err() != nil {
			return empty, ctx.Err()
		}
		return empty, unavailable(q.Type.String()+" request", err)
	}
	c.typ, c.done, c.answered = q.Type, make(chan struct{}), make(map[string]bool)
	if c.plan.need == 0 && len(c.plan.known) == 0 {
		return bus.Result{Missing: append([]string{}, c.plan.dead...)}, nil // nobody else listens
	}
	id := q.RequestID
	n.mu.Lock()
	n.calls[id] = c
	n.ncalls.Store(int32(len(n.calls)))
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.calls, id)
		n.ncalls.Store(int32(len(n.calls)))
		n.mu.Unlock()
	}()

	published := make(chan error, 1)
	err = n.a.out.enqueue(wctx, outMsg{channel: n.reqCh, payload: msg, kind: KindRequest, done: published})
	if err == nil {
		select {
		case err = <-published:
		case <-wctx.Done():
		case <-n.closing:
		}
	}
	if err == nil {
		c.mu.Lock()
		if !c.finished && c.completeLocked() { // e.g. a join with no Switchboard node to wait for
			c.finished = true
			close(c.done)
		}
		c.mu.Unlock()
		select {
		case <-c.done:
		case <-wctx.Done():
		case <-n.closing:
		}
	}
	c.mu.Lock()
	c.finished = true
	res := c.resultLocked()
	c.mu.Unlock()
	switch {
	case err != nil:
		return res, unavailable("publish "+q.Type.String()+" request", err)
	case n.closed.Load():
		return res, fmt.Errorf("bus/redis: namespace %s: %w", n.name, bus.ErrClosed)
	case errors.Is(ctx.Err(), context.Canceled):
		return res, ctx.Err()
	}
	return res, nil
}

// PublishWithAck sends a BROADCAST request (msgpack, with flags.timeout in milliseconds) and
// relays each node's client count and each client ack, until every counted client answered
// or timeout passed (zero means RequestTimeout).
func (n *namespace) PublishWithAck(ctx context.Context, b *bus.Broadcast, timeout time.Duration, count func(int), ack func(bus.Message)) (bus.Result, error) {
	if timeout <= 0 {
		timeout = n.a.cfg.RequestTimeout
	}
	ms := int(timeout / time.Millisecond)
	q := &wire.Request{
		Type:   wire.BroadcastRequest,
		Packet: &wire.Packet{NSP: n.name, Data: b.Data, Attachments: b.Attachments},
		Opts:   &wire.Opts{Rooms: b.Rooms, Except: b.Except, Flags: wire.Flags{Volatile: b.Volatile, Timeout: &ms}},
	}
	return n.request(ctx, q, &call{count: count, ack: ack}, timeout)
}

// Join sends REMOTE_JOIN with a requestId: Switchboard nodes answer their matched count, Node
// servers apply it without answering (they are reported as "unknown-N" in Missing).
func (n *namespace) Join(ctx context.Context, sel bus.Selector, rooms []string) (int, bus.Result, error) {
	return n.roomRequest(ctx, &wire.Request{Type: wire.RemoteJoin, Rooms: rooms}, sel)
}

// Leave sends REMOTE_LEAVE, as Join.
func (n *namespace) Leave(ctx context.Context, sel bus.Selector, rooms []string) (int, bus.Result, error) {
	return n.roomRequest(ctx, &wire.Request{Type: wire.RemoteLeave, Rooms: rooms}, sel)
}

// Disconnect sends REMOTE_DISCONNECT, as Join.
func (n *namespace) Disconnect(ctx context.Context, sel bus.Selector, close bool) (int, bus.Result, error) {
	return n.roomRequest(ctx, &wire.Request{Type: wire.RemoteDisconnect, Close: close}, sel)
}

func (n *namespace) roomRequest(ctx context.Context, q *wire.Request, sel bus.Selector) (int, bus.Result, error) {
	if q.Rooms == nil && q.Type != wire.RemoteDisconnect {
		q.Rooms = []string{}
	}
	q.Opts = &wire.Opts{Rooms: sel.Rooms, Except: sel.Except}
	c := &call{}
	res, err := n.request(ctx, q, c, n.a.cfg.RequestTimeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.matched, res, err
}

// FetchSockets sends REMOTE_FETCH and gathers the sockets of every answer. Sockets of
// Switchboard nodes carry their node id; those of Node servers have none.
func (n *namespace) FetchSockets(ctx context.Context, sel bus.Selector) ([]bus.SocketInfo, bus.Result, error) {
	q := &wire.Request{Type: wire.RemoteFetch, Opts: &wire.Opts{Rooms: sel.Rooms, Except: sel.Except}}
	c := &call{}
	res, err := n.request(ctx, q, c, n.a.cfg.RequestTimeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockets, res, err
}

// AllRooms sends ALL_ROOMS and returns the union of the answers, sorted.
func (n *namespace) AllRooms(ctx context.Context) ([]string, bus.Result, error) {
	c := &call{}
	res, err := n.request(ctx, &wire.Request{Type: wire.AllRooms}, c, n.a.cfg.RequestTimeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	slices.Sort(c.rooms)
	return slices.Compact(c.rooms), res, err
}

// ServerSideEmit sends SERVER_SIDE_EMIT. Without reply it only publishes; with reply it adds a
// requestId and relays each answer (the replying handler's first argument, as a one-element
// array) until every other server answered, RequestTimeout passed or ctx ended.
func (n *namespace) ServerSideEmit(ctx context.Context, m bus.Message, reply func(bus.Message)) (bus.Result, error) {
	q := &wire.Request{Type: wire.ServerSideEmit, Data: m.Data, Attachments: m.Attachments}
	if reply != nil {
		return n.request(ctx, q, &call{reply: reply}, n.a.cfg.RequestTimeout)
	}
	if err := n.check(ctx); err != nil {
		return bus.Result{Missing: []string{}}, err
	}
	q.UID = n.a.id
	msg, err := wire.EncodeRequest(q)
	if err != nil {
		return bus.Result{Missing: []string{}}, fmt.Errorf("bus/redis: SERVER_SIDE_EMIT request: %w", err)
	}
	if len(msg) > n.a.cfg.MaxMessageBytes {
		return bus.Result{Missing: []string{}}, fmt.Errorf("bus/redis: SERVER_SIDE_EMIT request of %d bytes: %w", len(msg), bus.ErrTooLarge)
	}
	return bus.Result{Missing: []string{}}, n.a.out.enqueue(ctx, outMsg{channel: n.reqCh, payload: msg, kind: KindRequest, retry: true})
}
