package redis

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/bus/redis/wire"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// namespace is one attached namespace: its channels, its Local, and the requests it has in
// flight.
type namespace struct {
	a       *Adapter
	name    string
	local   bus.Local
	bcastCh string // "<key>#<nsp>#"
	pattern string // "<key>#<nsp>#*"
	reqCh   string
	respCh  string
	specCh  string // "<key>-response#<nsp>#<node id>#"

	closed  atomic.Bool
	closing chan struct{} // closed with the namespace: requests in flight return

	mu     sync.Mutex
	calls  map[string]*call // requests in flight, by request id
	ncalls atomic.Int32     // len(calls), read without the lock
}

var _ bus.Namespace = (*namespace)(nil)

func newNamespace(a *Adapter, nsp string, local bus.Local) *namespace {
	return &namespace{
		a:       a,
		name:    nsp,
		local:   local,
		bcastCh: wire.BroadcastChannel(a.key, nsp),
		pattern: wire.BroadcastPattern(a.key, nsp),
		reqCh:   wire.RequestChannel(a.key, nsp),
		respCh:  wire.ResponseChannel(a.key, nsp),
		specCh:  wire.SpecificResponseChannel(a.key, nsp, a.id),
		closing: make(chan struct{}),
		calls:   make(map[string]*call),
	}
}

// check fails when the namespace is closed or ctx is done.
func (n *namespace) check(ctx context.Context) error {
	if n.closed.Load() {
		return fmt.Errorf("bus/redis: namespace %s: %w", n.name, bus.ErrClosed)
	}
	return ctx.Err()
}

// Publish encodes b once, as the reference adapter does, and queues it for the channel of its
// single room, or the namespace channel. It does not wait for Redis; while publishing fails,
// volatile broadcasts are dropped and the others are kept (up to MaxQueueBytes) and published
// when Redis is back.
func (n *namespace) Publish(ctx context.Context, b *bus.Broadcast) error {
	if err := n.check(ctx); err != nil {
		return err
	}
	ch, msg, err := n.encodeBroadcast(b)
	if err != nil {
		return err
	}
	return n.a.out.enqueue(ctx, outMsg{channel: ch, payload: msg, kind: KindBroadcast, volatile: b.Volatile, retry: !b.Volatile})
}

// encodeBroadcast returns the channel and the message [uid, packet, opts] of b.
func (n *namespace) encodeBroadcast(b *bus.Broadcast) (channel string, msg []byte, err error) {
	opts := wire.Opts{Rooms: b.Rooms, Except: b.Except}
	opts.Flags.Volatile = b.Volatile
	msg, err = wire.EncodeBroadcast(n.a.id, n.name, b.Data, b.Attachments, nil, opts)
	if err != nil {
		return "", nil, fmt.Errorf("bus/redis: broadcast: %w", err)
	}
	if len(msg) > n.a.cfg.MaxMessageBytes {
		return "", nil, fmt.Errorf("bus/redis: broadcast of %d bytes: %w", len(msg), bus.ErrTooLarge)
	}
	channel = n.bcastCh
	if len(b.Rooms) == 1 {
		channel = wire.RoomChannel(n.a.key, n.name, b.Rooms[0])
	}
	return channel, msg, nil
}

// onBroadcast handles a message of the broadcast pattern, as the reference adapter's
// onmessage: a single-room message for a room without local members is dropped unread, our
// own messages are dropped, the rest is decoded once and delivered to Local.
func (n *namespace) onBroadcast(channel, payload string) {
	if n.closed.Load() {
		return
	}
	a := n.a
	room, ok := wire.ParseBroadcastChannel(a.key, n.name, channel)
	if !ok {
		a.drop(ReasonMalformed, "broadcast channel without a closing '#'", "channel", channel)
		return
	}
	if room != "" && !n.local.HasRoom(room) {
		return
	}
	if len(payload) > a.cfg.MaxMessageBytes {
		a.drop(ReasonTooLarge, "broadcast over MaxMessageBytes", "channel", channel, "bytes", len(payload))
		return
	}
	if strings.HasPrefix(payload, a.selfPrefix) {
		return // our own broadcast, back from Redis
	}
	m, err := wire.DecodeBroadcast(bytesOf(payload))
	if err != nil {
		a.drop(ReasonMalformed, err.Error(), "channel", channel)
		return
	}
	switch {
	case m.UID == a.id:
		return
	case m.Packet.NSP != n.name:
		a.drop(ReasonUnknownNamespace, "broadcast packet of another namespace", "channel", channel, "packet_nsp", m.Packet.NSP)
		return
	case m.Packet.Type != socketio.Event && m.Packet.Type != socketio.BinaryEvent:
		a.drop(ReasonUnknownType, "broadcast packet is not an event", "channel", channel, "type", int(m.Packet.Type))
		return
	}
	n.local.Broadcast(&bus.Broadcast{
		Selector: bus.Selector{Rooms: m.Opts.Rooms, Except: m.Opts.Except},
		Message:  bus.Message{Data: m.Packet.Data, Attachments: m.Packet.Attachments},
		Volatile: m.Opts.Flags.Volatile,
	})
}

// onResponse handles a message of the response channels. Every node sees every answer on the
// common channel: one that names none of our requests in flight is dropped without decoding.
func (n *namespace) onResponse(payload string) {
	if n.ncalls.Load() == 0 || n.closed.Load() {
		return
	}
	a := n.a
	if len(payload) > a.cfg.MaxMessageBytes {
		a.drop(ReasonTooLarge, "response over MaxMessageBytes", "nsp", n.name, "bytes", len(payload))
		return
	}
	if !n.mayBeOurs(payload) {
		return
	}
	r, err := wire.DecodeResponse(bytesOf(payload))
	if err != nil {
		a.drop(ReasonMalformed, err.Error(), "nsp", n.name, "kind", KindResponse)
		return
	}
	n.mu.Lock()
	c := n.calls[r.RequestID]
	n.mu.Unlock()
	if c != nil {
		c.handle(&r)
	}
}

// mayBeOurs reports whether payload may answer a request in flight: whether it contains the id
// of one (ids are random, 12 characters).
func (n *namespace) mayBeOurs(payload string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.calls) > 16 {
		return true // decoding is cheaper than that many searches
	}
	for id := range n.calls {
		if strings.Contains(payload, id) {
			return true
		}
	}
	return false
}

// pending reports whether id is one of our requests in flight.
func (n *namespace) pending(id string) bool {
	if n.ncalls.Load() == 0 {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[id] != nil
}

// RoomCreated does nothing: every node receives every broadcast of its namespaces (the
// reference adapter's pattern subscription), and single-room messages for rooms without
// local members are dropped before decoding.
func (n *namespace) RoomCreated(string) {}

// RoomDeleted does nothing (see RoomCreated).
func (n *namespace) RoomDeleted(string) {}

// Close unsubscribes the namespace's channels; its requests in flight return at once.
func (n *namespace) Close() error {
	if n.shutdown() {
		n.a.detach(n)
	}
	return nil
}

// shutdown marks the namespace closed; it reports whether it was open.
func (n *namespace) shutdown() bool {
	if !n.closed.CompareAndSwap(false, true) {
		return false
	}
	close(n.closing)
	return true
}
