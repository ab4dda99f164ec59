package edge

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

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
}

type broadcastOpts struct {
	rooms    []string
	except   []string
	volatile bool
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

func (b *BroadcastOperator) opts() broadcastOpts {
	return broadcastOpts{rooms: b.rooms, except: b.except, volatile: b.volatile}
}

// Emit sends an event to the selected sockets. The packet is encoded once
// and the same bytes are queued to every recipient.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	return b.nsp.broadcast(b.opts(), event, args, nil)
}

// EmitWithAck sends an event to the selected sockets and collects one
// acknowledgement from each. It returns when every recipient answered, or
// when ctx ends with the answers received so far and ErrAckTimeout.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	var answers []Args
	_, err := b.EmitWithAckEach(ctx, func(_ *Socket, a Args) { answers = append(answers, a) }, event, args...)
	return answers, err
}

// EmitWithAckEach is EmitWithAck that hands each answer to fn with the
// socket that gave it, as it arrives (calls to fn do not overlap). It
// returns how many sockets the event was sent to.
func (b *BroadcastOperator) EmitWithAckEach(ctx context.Context, fn func(*Socket, Args), event string, args ...any) (int, error) {
	var (
		mu       sync.Mutex
		got      int
		expected = -1
		stopped  bool
		done     = make(chan struct{})
	)
	check := func() {
		if expected >= 0 && got == expected {
			close(done)
			expected = -2 // closed
		}
	}
	sent, id, err := b.nsp.broadcastWithAck(b.opts(), event, args, func(s *Socket, a Args, err error) {
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		got++
		fn(s, a)
		check()
	})
	if err != nil {
		return 0, err
	}
	defer func() {
		for _, s := range sent {
			s.dropAck(id)
		}
	}()
	mu.Lock()
	expected = len(sent)
	check()
	mu.Unlock()
	select {
	case <-done:
		return len(sent), nil
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if got == len(sent) {
			return len(sent), nil
		}
		if ctx.Err() == context.DeadlineExceeded {
			return len(sent), ErrAckTimeout
		}
		return len(sent), ctx.Err()
	}
}

// Sockets returns the selected sockets connected to this node.
func (b *BroadcastOperator) Sockets() []*Socket {
	return b.nsp.targets(b.opts(), nil)
}

// Join makes the selected sockets join rooms.
func (b *BroadcastOperator) Join(rooms ...string) {
	for _, s := range b.Sockets() {
		s.Join(rooms...)
	}
}

// Leave makes the selected sockets leave rooms.
func (b *BroadcastOperator) Leave(rooms ...string) {
	for _, s := range b.Sockets() {
		s.Leave(rooms...)
	}
}

// Disconnect disconnects the selected sockets (see Socket.Disconnect).
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

// broadcast encodes event once and queues it to every selected socket.
func (n *Namespace) broadcast(o broadcastOpts, event string, args []any, _ func()) error {
	if socketio.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := encodeArgs(event, true, args)
	if err != nil {
		return err
	}
	if rec := n.srv.recovery; rec != nil && !o.volatile {
		offset := rec.nextOffset()
		data = appendOffset(data, offset)
		p := &socketio.Packet{Type: packetType(true, atts), Namespace: n.name, Data: data, Attachments: atts}
		f := frames(p)
		// Logged and delivered under one read lock: a socket being restored
		// (under the write lock) either finds it in the log or gets it live.
		n.mu.RLock()
		rec.log(n.name, offset, o, f)
		n.eachLocked(o, func(s *Socket) { _ = s.conn.sess.Send(f...) })
		n.mu.RUnlock()
		return nil
	}
	p := &socketio.Packet{Type: packetType(true, atts), Namespace: n.name, Data: data, Attachments: atts}
	n.deliver(o, frames(p))
	return nil
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
	n.each(o, func(s *Socket) {
		if o.volatile {
			s.conn.sess.SendVolatile(f...)
		} else {
			_ = s.conn.sess.Send(f...)
		}
	})
}

// broadcastWithAck sends event with one ack id to every selected socket; fn
// is called once per answer. It returns the sockets it was sent to and the
// ack id, which the caller drops from them when it stops waiting.
func (n *Namespace) broadcastWithAck(o broadcastOpts, event string, args []any, fn func(*Socket, Args, error)) ([]*Socket, uint64, error) {
	if socketio.IsReserved(event) {
		return nil, 0, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := encodeArgs(event, true, args)
	if err != nil {
		return nil, 0, err
	}
	id := n.nextAckID()
	f := frames(&socketio.Packet{Type: packetType(true, atts), Namespace: n.name, ID: id, HasID: true, Data: data, Attachments: atts})
	ts := n.targets(o, nil)
	sent := ts[:0]
	for _, s := range ts {
		if !s.registerAck(id, time.Duration(0), func(a Args, err error) { fn(s, a, err) }) {
			continue
		}
		var ok bool
		if o.volatile {
			ok = s.conn.sess.SendVolatile(f...)
		} else {
			ok = s.conn.sess.Send(f...) == nil
		}
		if !ok {
			s.dropAck(id)
			continue
		}
		sent = append(sent, s)
	}
	return sent, id, nil
}
