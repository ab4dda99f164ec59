package nats

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	natsgo "github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/bus"
)

// maxRoomSubjects is the most room subjects a broadcast is published on;
// a selection of more rooms is published once on P.node.sel.<ns>.
const maxRoomSubjects = 16

// namespace is one attached namespace.
type namespace struct {
	a     *Adapter
	name  string
	tok   string
	local bus.Local

	allSubj, selSubj, reqSubj string

	// mu serializes subscription changes and guards subs and rooms. It is
	// held across nats.go Subscribe/Unsubscribe, which only queue a
	// protocol line for nats.go's flusher (no network wait).
	mu     sync.Mutex
	subs   []*trackedSub          // P.node.bc.<ns>, P.node.sel.<ns>
	rooms  map[string]*trackedSub // P.node.bc.<ns>.<room>, rooms with local members
	closed atomic.Bool
}

// trackedSub remembers how many of a subscription's messages nats.go
// dropped, for DropSlowConsumer.
type trackedSub struct {
	*natsgo.Subscription
	dropped int
}

var _ bus.Namespace = (*namespace)(nil)

func newNamespace(a *Adapter, name, tok string, local bus.Local) *namespace {
	return &namespace{
		a: a, name: name, tok: tok, local: local,
		allSubj: a.subj.all(tok),
		selSubj: a.subj.selected(tok),
		reqSubj: a.subj.request(tok),
		rooms:   make(map[string]*trackedSub),
	}
}

func (ns *namespace) subscribe() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, subj := range []string{ns.allSubj, ns.selSubj} {
		sub, err := ns.a.nc.ChanSubscribe(subj, ns.a.bcCh)
		if err != nil {
			for _, s := range ns.subs {
				_ = s.Unsubscribe()
			}
			ns.subs = nil
			return fmt.Errorf("bus/nats: subscribe %s: %w: %w", subj, bus.ErrUnavailable, err)
		}
		ns.subs = append(ns.subs, &trackedSub{Subscription: sub})
	}
	return nil
}

func errClosed(ns *namespace) error {
	return fmt.Errorf("bus/nats: namespace %s: %w", ns.name, bus.ErrClosed)
}

func (ns *namespace) checkSize(n int) error {
	if max := ns.a.maxBytes(); n > max {
		return fmt.Errorf("bus/nats: %s: message of %d bytes over %d: %w", ns.name, n, max, bus.ErrTooLarge)
	}
	return nil
}

// RoomCreated subscribes to the room's subject, unless the room looks
// like a socket id: broadcasts to such rooms travel on P.node.sel.<ns>.
func (ns *namespace) RoomCreated(room string) {
	if ns.a.cfg.SocketID(room) {
		return
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.closed.Load() || ns.rooms[room] != nil {
		return
	}
	subj := ns.a.subj.room(ns.tok, room)
	sub, err := ns.a.nc.ChanSubscribe(subj, ns.a.bcCh)
	if err != nil {
		// nats.go resubscribes what it knows after a reconnect; a
		// failure here means a closed connection.
		ns.a.log.Error("bus/nats: cannot subscribe to room", "nsp", ns.name, "room", room, "error", err)
		return
	}
	ns.rooms[room] = &trackedSub{Subscription: sub}
}

// RoomDeleted unsubscribes from the room's subject.
func (ns *namespace) RoomDeleted(room string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if sub := ns.rooms[room]; sub != nil {
		delete(ns.rooms, room)
		_ = sub.Unsubscribe()
	}
}

// Close unsubscribes the namespace. A Local call already running may
// finish after Close returns; none starts after.
func (ns *namespace) Close() error {
	if ns.closed.Swap(true) {
		return nil
	}
	ns.mu.Lock()
	for _, s := range ns.subs {
		_ = s.Unsubscribe()
	}
	for _, s := range ns.rooms {
		_ = s.Unsubscribe()
	}
	ns.subs, ns.rooms = nil, nil
	ns.mu.Unlock()
	ns.a.detach(ns)
	return nil
}

// droppedSince returns how many broadcasts nats.go dropped on the
// namespace's subscriptions since the last call.
func (ns *namespace) droppedSince() int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	n := 0
	for _, s := range ns.subs {
		n += s.droppedSince()
	}
	for _, s := range ns.rooms {
		n += s.droppedSince()
	}
	return n
}

// droppedSince returns how many messages nats.go dropped since the last
// call. Its caller serializes calls.
func (s *trackedSub) droppedSince() int {
	d, err := s.Dropped()
	if err != nil || d <= s.dropped {
		return 0
	}
	n := d - s.dropped
	s.dropped = d
	return n
}

// Publish sends b to the other nodes: once on P.node.bc.<ns> when it
// selects the whole namespace, else once on each room's subject, plus
// once on P.node.sel.<ns> for rooms that may be socket ids (all of them
// there when there are more than maxRoomSubjects rooms). Copies of one
// broadcast carry one sequence number so that a receiving node delivers
// it once. A volatile broadcast is dropped while NATS is unreachable.
func (ns *namespace) Publish(ctx context.Context, b *bus.Broadcast) error {
	a := ns.a
	if ns.closed.Load() {
		return errClosed(ns)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.Volatile && a.nc.Status() != natsgo.CONNECTED {
		a.met.Dropped(DropVolatile, 1)
		return nil
	}
	var stack [8]string
	subjs := ns.route(b.Rooms, stack[:0])
	buf := getBuf()
	defer putBuf(buf)
	*buf = appendBroadcast((*buf)[:0], a.inst, b)
	enc := *buf
	if err := ns.checkSize(len(enc)); err != nil {
		return err
	}
	var err error
	if len(subjs) == 1 {
		err = a.nc.Publish(subjs[0], enc)
	} else {
		a.pubMu.Lock()
		a.seq++
		setSeq(enc, a.seq)
		for _, s := range subjs {
			if err = a.nc.Publish(s, enc); err != nil {
				break
			}
		}
		a.pubMu.Unlock()
	}
	if err != nil {
		if b.Volatile {
			a.met.Dropped(DropVolatile, 1)
			return nil
		}
		return publishErr(err)
	}
	for range subjs {
		a.met.Published(KindBroadcast, len(enc))
	}
	return nil
}

// route returns the subjects of a broadcast to rooms.
func (ns *namespace) route(rooms []string, dst []string) []string {
	if len(rooms) == 0 {
		return append(dst, ns.allSubj)
	}
	var named [maxRoomSubjects]string
	k, sel := 0, false
	for _, r := range rooms {
		if ns.a.cfg.SocketID(r) {
			sel = true
			continue
		}
		if dup(named[:k], r) {
			continue
		}
		if k == maxRoomSubjects {
			return append(dst[:0], ns.selSubj)
		}
		named[k] = r
		k++
		dst = append(dst, ns.a.subj.room(ns.tok, r))
	}
	if sel {
		dst = append(dst, ns.selSubj)
	}
	return dst
}

// dup reports whether r is among rooms.
func dup(rooms []string, r string) bool {
	for _, x := range rooms {
		if x == r {
			return true
		}
	}
	return false
}

// invoke runs a Local callback unless the namespace is closed, recovering
// a panic (logged, counted as DropPanic); it reports whether fn returned.
func (ns *namespace) invoke(what string, fn func()) (ok bool) {
	if ns.closed.Load() {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			ns.a.drop(DropPanic, "bus/nats: Local panicked", "nsp", ns.name, "call", what, "panic", r)
			ok = false
		}
	}()
	fn()
	return true
}
