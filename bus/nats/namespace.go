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
	mu    sync.Mutex
	subs  []*trackedSub          // P.node.bc.<ns>, P.node.sel.<ns>
	rooms map[string]*trackedSub // P.node.bc.<ns>.<room>, rooms with local members
	// tags: P.node.sel.<ns>.<tag> for this node's tag and for named rooms
	// that look like socket ids (sidRooms: room → its tag).
	tags     map[string]*tagSub
	sidRooms map[string]string
	closed   atomic.Bool
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
		allSubj:  a.subj.all(tok),
		selSubj:  a.subj.selected(tok),
		reqSubj:  a.subj.request(tok),
		rooms:    make(map[string]*trackedSub),
		tags:     make(map[string]*tagSub),
		sidRooms: make(map[string]string),
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
	// This node's sockets: one-socket broadcasts are routed by their tag.
	if err := ns.refTag(ns.a.tagTok); err != nil {
		for _, s := range ns.subs {
			_ = s.Unsubscribe()
		}
		ns.subs = nil
		return fmt.Errorf("bus/nats: subscribe %s.%s: %w: %w", ns.selSubj, ns.a.tagTok, bus.ErrUnavailable, err)
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

// RoomCreated subscribes to the room's subject. A named room that looks
// like a socket id travels like one, on P.node.sel.<ns>.<first 4 chars>:
// the node subscribes to that tag too.
func (ns *namespace) RoomCreated(room string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.closed.Load() {
		return
	}
	if ns.a.cfg.SocketID(room) {
		if _, ok := ns.sidRooms[room]; ok {
			return
		}
		if err := ns.refTag(room[:4]); err != nil {
			ns.a.log.Error("bus/nats: cannot subscribe to room", "nsp", ns.name, "room", room, "error", err)
			return
		}
		ns.sidRooms[room] = room[:4]
		return
	}
	if ns.rooms[room] != nil {
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
	if tag, ok := ns.sidRooms[room]; ok {
		delete(ns.sidRooms, room)
		ns.unrefTag(tag)
		return
	}
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
	for _, s := range ns.tags {
		_ = s.Unsubscribe()
	}
	ns.subs, ns.rooms, ns.tags, ns.sidRooms = nil, nil, nil, nil
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
	for _, s := range ns.tags {
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
	// Named rooms go to their subjects, socket-id rooms to the subject of
	// their owner's tag; past maxRoomSubjects subjects, one copy goes to
	// P.node.sel.<ns>, which every node receives.
	var seen [maxRoomSubjects]string
	k := 0
	for _, r := range rooms {
		key, subj := r, ""
		if ns.a.cfg.SocketID(r) {
			key = "\x00" + r[:4] // a tag, never equal to a room name
		}
		if dup(seen[:k], key) {
			continue
		}
		if k == maxRoomSubjects {
			return append(dst[:0], ns.selSubj)
		}
		if key != r {
			subj = ns.selSubj + "." + r[:4]
		} else {
			subj = ns.a.subj.room(ns.tok, r)
		}
		seen[k] = key
		k++
		dst = append(dst, subj)
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
