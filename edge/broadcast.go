package edge

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/edge/engine"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// BroadcastOperator selects sockets of a namespace: those in any of its
// rooms (every socket when it has none), minus those in any except room.
// Operators are values: To, Except and Volatile return modified copies.
type BroadcastOperator struct {
	nsp      *Namespace
	rooms    []string
	except   []string
	volatile bool
	local    bool
}

type broadcastOpts struct {
	rooms    []string
	except   []string
	volatile bool
	local    bool // this node's sockets only: nothing goes to the adapter
}

// To returns an operator that also selects the sockets in rooms.
func (n *Namespace) To(rooms ...string) *BroadcastOperator {
	return (&BroadcastOperator{nsp: n}).To(rooms...)
}

// Except returns an operator that leaves out the sockets in rooms.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator {
	return (&BroadcastOperator{nsp: n}).Except(rooms...)
}

// Volatile returns an operator whose emits skip clients that cannot take them at once.
func (n *Namespace) Volatile() *BroadcastOperator {
	return &BroadcastOperator{nsp: n, volatile: true}
}

// Local returns an operator for this node's sockets of the namespace only
// (see BroadcastOperator.Local).
func (n *Namespace) Local() *BroadcastOperator {
	return &BroadcastOperator{nsp: n, local: true}
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return n.broadcast(broadcastOpts{}, event, args, nil)
}

// EmitWithAckAll sends an event to every socket of the namespace and
// collects their acknowledgements (see BroadcastOperator.EmitWithAck).
func (n *Namespace) EmitWithAckAll(ctx context.Context, event string, args ...any) ([]Args, error) {
	return (&BroadcastOperator{nsp: n}).EmitWithAck(ctx, event, args...)
}

// To returns a copy that also selects the sockets in rooms.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := *b
	c.rooms = append(slices.Clip(b.rooms), rooms...)
	return &c
}

// Except returns a copy that leaves out the sockets in rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := *b
	c.except = append(slices.Clip(b.except), rooms...)
	return &c
}

// Volatile returns a copy whose emits skip clients that cannot take them at once.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := *b
	c.volatile = true
	return &c
}

// Local returns a copy that acts on this node's sockets only (socket.io's
// io.local): its emits, acks and socket operations do not involve the
// adapter or the other nodes.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := *b
	c.local = true
	return &c
}

func (b *BroadcastOperator) opts() broadcastOpts {
	return broadcastOpts{rooms: b.rooms, except: b.except, volatile: b.volatile, local: b.local}
}

// Emit sends an event to the selected sockets. The packet is encoded once
// and the same bytes are queued to every recipient.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	return b.nsp.broadcast(b.opts(), event, args, nil)
}

// EmitWithAck sends an event to the selected sockets of every node and
// collects one acknowledgement from each. It returns when every recipient
// answered, or when ctx ends with the answers received so far and
// ErrAckTimeout.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	var answers []Args
	_, err := b.EmitWithAckEach(ctx, func(_ *Socket, a Args) { answers = append(answers, a) }, event, args...)
	return answers, err
}

// AckResult summarises a broadcast with acknowledgements.
type AckResult struct {
	// Sent is the number of clients the event was sent to: on this node and
	// on the other nodes that reported their count.
	Sent int
	// Answered is the number of acknowledgements received.
	Answered int
	// Missing names the other nodes that did not report in time (empty, not
	// nil, when all did or the server runs alone).
	Missing []string
}

// EmitWithAckEach is EmitWithAck that hands each answer to fn as it
// arrives, with the socket that gave it (nil for a client of another
// node); calls to fn do not overlap.
func (b *BroadcastOperator) EmitWithAckEach(ctx context.Context, fn func(*Socket, Args), event string, args ...any) (AckResult, error) {
	n := b.nsp
	o := b.opts()
	if socketio.IsReserved(event) {
		return AckResult{}, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := encodeArgs(event, true, args)
	if err != nil {
		return AckResult{}, err
	}
	var (
		mu       sync.Mutex
		got      int
		expected = -1
		stopped  bool
		done     = make(chan struct{})
	)
	check := func() {
		if expected >= 0 && got >= expected {
			close(done)
			expected = -2 // closed
		}
	}
	answer := func(s *Socket, a Args) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		got++
		fn(s, a)
		check()
	}
	sent, id := n.sendWithAck(o, data, atts, func(s *Socket, a Args, err error) {
		if err == nil {
			answer(s, a)
		}
	})
	defer func() {
		for _, s := range sent {
			s.dropAck(id)
		}
	}()
	res, remote, cerr := n.publishWithAck(ctx, o, data, atts, func(a Args) { answer(nil, a) })
	mu.Lock()
	expected = len(sent) + remote
	total := expected
	check()
	mu.Unlock()
	result := func() AckResult {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		return AckResult{Sent: total, Answered: got, Missing: res.Missing}
	}
	if cerr != nil {
		r := result()
		return r, cerr
	}
	select {
	case <-done:
		return result(), nil
	case <-ctx.Done():
		r := result()
		if r.Answered >= r.Sent {
			return r, nil
		}
		if ctx.Err() == context.DeadlineExceeded {
			return r, ErrAckTimeout
		}
		return r, ctx.Err()
	}
}

// publishWithAck hands a broadcast with acks to the other nodes and returns
// once they reported (or ctx ended), with the number of their recipients.
func (n *Namespace) publishWithAck(ctx context.Context, o broadcastOpts, data []byte, atts [][]byte, answer func(Args)) (bus.Result, int, error) {
	c := n.cluster()
	if c == nil || o.local {
		return noCluster(), 0, nil
	}
	timeout := n.srv.cfg.RequestTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	var mu sync.Mutex
	remote := 0
	res, err := c.PublishWithAck(ctx, &bus.Broadcast{
		Selector: selector(o), Message: bus.Message{Data: data, Attachments: atts}, Volatile: o.volatile,
	}, timeout, func(k int) {
		mu.Lock()
		remote += k
		mu.Unlock()
	}, func(m bus.Message) {
		if a, err := newArgs(m.Data, false, m.Attachments); err == nil {
			answer(a)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	res, err = settle(res, "broadcast with acks", err)
	return res, remote, err
}

// Sockets returns the selected sockets connected to this node.
func (b *BroadcastOperator) Sockets() []*Socket {
	return b.nsp.targets(b.opts(), nil)
}

// Join makes the selected sockets of this node join rooms (SocketsJoin
// reaches every node).
func (b *BroadcastOperator) Join(rooms ...string) {
	for _, s := range b.Sockets() {
		s.Join(rooms...)
	}
}

// Leave makes the selected sockets of this node leave rooms (SocketsLeave
// reaches every node).
func (b *BroadcastOperator) Leave(rooms ...string) {
	for _, s := range b.Sockets() {
		s.Leave(rooms...)
	}
}

// Disconnect disconnects the selected sockets of this node (see
// Socket.Disconnect; DisconnectSockets reaches every node).
func (b *BroadcastOperator) Disconnect(close bool) {
	for _, s := range b.Sockets() {
		s.Disconnect(close)
	}
}

// targets appends the selected sockets to dst.
func (n *Namespace) targets(o broadcastOpts, dst []*Socket) []*Socket {
	n.each(o, func(s *Socket) { dst = append(dst, s) })
	return dst
}

// each calls fn for every selected socket, once each, under the read lock:
// fn must not block or take the namespace lock.
func (n *Namespace) each(o broadcastOpts, fn func(*Socket)) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	n.eachLocked(o, fn)
}

func (n *Namespace) eachLocked(o broadcastOpts, fn func(*Socket)) {
	excluded := func(s *Socket) bool { return n.inAnyLocked(o.except, s) }
	switch len(o.rooms) {
	case 0:
		for _, s := range n.sockets {
			if !excluded(s) {
				fn(s)
			}
		}
	default:
		for i, r := range o.rooms {
			// A socket in several selected rooms gets the broadcast once.
			visit := func(s *Socket) {
				if !excluded(s) && (i == 0 || !n.inAnyLocked(o.rooms[:i], s)) {
					fn(s)
				}
			}
			for s := range n.rooms[r] {
				visit(s)
			}
			if s := n.sockets[r]; s != nil {
				visit(s) // the room named by a socket's id (not in the index)
			}
		}
	}
}

// inAnyLocked reports whether s is in one of rooms.
func (n *Namespace) inAnyLocked(rooms []string, s *Socket) bool {
	for _, r := range rooms {
		if r == s.id {
			return true
		}
		if _, ok := n.rooms[r][s]; ok {
			return true
		}
	}
	return false
}

// broadcast encodes event once, queues it to every selected local socket
// and hands the same encoding to the other nodes.
func (n *Namespace) broadcast(o broadcastOpts, event string, args []any, _ func()) error {
	if socketio.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := encodeArgs(event, true, args)
	if err != nil {
		return err
	}
	n.deliverEncoded(o, data, atts)
	if o.local {
		return nil
	}
	return n.publish(o, data, atts)
}

// deliverEncoded queues an encoded event ([event, args...]) to the
// selected local sockets, logging it for recovery when that is on.
func (n *Namespace) deliverEncoded(o broadcastOpts, data []byte, atts [][]byte) {
	if rec := n.srv.recovery; rec != nil && !o.volatile {
		offset := rec.nextOffset()
		data = appendOffset(data, offset)
		p := &socketio.Packet{Type: packetType(true, atts), Namespace: n.name, Data: data, Attachments: atts}
		f := frames(p)
		// Logged and delivered under one read lock: a socket being restored
		// (under the write lock) either finds it in the log or gets it live.
		start, inline := n.srv.fan.begin()
		n.mu.RLock()
		rec.log(n.name, offset, o, f)
		n.eachLocked(o, func(s *Socket) { _ = fanSend(s, inline, f) })
		n.mu.RUnlock()
		n.srv.fan.end(start)
		return
	}
	p := &socketio.Packet{Type: packetType(true, atts), Namespace: n.name, Data: data, Attachments: atts}
	n.deliver(o, frames(p))
}

// BroadcastRaw queues already encoded frames (see Encode) to the selected
// sockets; it is how a broadcast from another node is delivered with no
// second encoding.
func (b *BroadcastOperator) BroadcastRaw(f []engine.Frame) {
	b.nsp.deliver(b.opts(), f)
}

// deliver queues f to the selected sockets. Queuing never blocks and never
// re-enters the namespace (a slow consumer is closed on its own goroutine),
// so it runs under the read lock without copying the recipients.
func (n *Namespace) deliver(o broadcastOpts, f []engine.Frame) {
	start, inline := n.srv.fan.begin()
	n.each(o, func(s *Socket) {
		if o.volatile {
			s.conn.sess.SendVolatile(f...)
		} else {
			_ = fanSend(s, inline, f)
		}
	})
	n.srv.fan.end(start)
}

// sendWithAck sends an encoded event with one ack id to every selected
// local socket; fn is called once per answer. It returns the sockets it was
// sent to and the ack id, which the caller drops from them when it stops
// waiting.
func (n *Namespace) sendWithAck(o broadcastOpts, data []byte, atts [][]byte, fn func(*Socket, Args, error)) ([]*Socket, uint64) {
	id := n.nextAckID()
	f := frames(&socketio.Packet{Type: packetType(true, atts), Namespace: n.name, ID: id, HasID: true, Data: data, Attachments: atts})
	ts := n.targets(o, nil)
	sent := ts[:0]
	start, inline := n.srv.fan.begin()
	defer n.srv.fan.end(start)
	for _, s := range ts {
		if !s.registerAck(id, time.Duration(0), func(a Args, err error) { fn(s, a, err) }) {
			continue
		}
		var ok bool
		if o.volatile {
			ok = s.conn.sess.SendVolatile(f...)
		} else {
			ok = fanSend(s, inline, f) == nil
		}
		if !ok {
			s.dropAck(id)
			continue
		}
		sent = append(sent, s)
	}
	return sent, id
}
