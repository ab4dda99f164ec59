package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/edge/engine"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// Handler handles one event. It runs on the connection's read goroutine: a
// handler that blocks stalls that connection (and only it). Blocking work —
// including EmitWithAck to the same client — belongs in a goroutine; e.Ack
// may be called from there.
type Handler func(e *Event)

// Handshake describes how a socket connected.
type Handshake struct {
	Headers map[string][]string
	Query   map[string]string
	Address string
	URL     string
	Secure  bool
	Time    time.Time
	// Auth is the client's auth payload (a JSON object), "{}" when absent.
	Auth json.RawMessage
}

// Socket is a client's connection to one namespace.
type Socket struct {
	id   string
	pid  string
	nsp  *Namespace
	conn *conn
	auth []byte // the CONNECT payload; the rest of the handshake is the connection's

	mu           sync.RWMutex
	connected    bool
	gone         bool // disconnected for good
	recovered    bool
	rooms        []string // its own id first; a slice: sockets are in few rooms
	handlers     map[string]Handler
	anyHandler   Handler
	onDisconnect []func(reason string)
	acks         map[uint64]*pendingAck
	data         any
	user         string

	replayFrom uint64 // the offset a restored socket resumes after
}

// ID returns the socket id, which is also the name of its own room.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the socket's handshake details. They must not be
// modified. It is built on each call from what the connection keeps, which
// spares idle sockets a copy.
func (s *Socket) Handshake() *Handshake { return s.conn.handshake(s.auth) }

// Transport returns the connection's current transport ("polling" or "websocket").
func (s *Socket) Transport() string { return s.conn.sess.Transport() }

// Recovered reports whether the socket was restored by connection state recovery.
func (s *Socket) Recovered() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.recovered
}

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.connected
}

// Data returns the application data attached to the socket.
func (s *Socket) Data() any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.data
}

// SetData attaches application data to the socket (it survives recovery
// and is reported to other nodes as JSON).
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
	s.trackIdentity()
}

// On registers the handler of event, replacing any previous one.
func (s *Socket) On(event string, h Handler) {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = make(map[string]Handler)
	}
	s.handlers[event] = h
	s.mu.Unlock()
}

// OnAny registers a handler for events that have no handler of their own.
func (s *Socket) OnAny(h Handler) {
	s.mu.Lock()
	s.anyHandler = h
	s.mu.Unlock()
}

// OnDisconnect registers fn to run once the socket has disconnected, with the reason.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// Rooms returns the rooms the socket is in, sorted; its own id is one of them.
func (s *Socket) Rooms() []string {
	s.mu.RLock()
	out := slices.Clone(s.rooms)
	s.mu.RUnlock()
	slices.Sort(out)
	return out
}

// Join adds the socket to rooms. Called from a middleware, before the
// socket is connected, the rooms are joined when it connects.
func (s *Socket) Join(rooms ...string) {
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	added := rooms[:0:0]
	for _, r := range rooms {
		if !slices.Contains(s.rooms, r) {
			s.rooms = append(s.rooms, r)
			added = append(added, r)
		}
	}
	if !s.connected {
		s.mu.Unlock() // joined when it connects
		return
	}
	s.mu.Unlock()
	s.nsp.addToRooms(s, added)
	s.trackJoin(added)
}

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...string) {
	s.mu.Lock()
	removed := rooms[:0:0]
	for _, r := range rooms {
		if i := slices.Index(s.rooms, r); i >= 0 {
			s.rooms = slices.Delete(s.rooms, i, i+1)
			removed = append(removed, r)
		}
	}
	s.mu.Unlock()
	s.nsp.removeFromRooms(s, removed)
	s.trackLeave(removed)
}

// Emit sends an event to this client. Arguments are encoded as JSON;
// []byte values anywhere inside them become binary attachments; a single
// Args argument is sent as is.
func (s *Socket) Emit(event string, args ...any) error {
	if socketio.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	if s.nsp.srv.recovery != nil {
		// With recovery on, direct emits take the broadcast path so they get
		// an offset and are replayed if missed.
		return s.nsp.broadcast(broadcastOpts{rooms: []string{s.id}}, event, args, nil)
	}
	data, atts, err := encodeArgs(event, true, args)
	if err != nil {
		return err
	}
	return s.send(&socketio.Packet{Type: packetType(true, atts), Namespace: s.nsp.name, Data: data, Attachments: atts}, false)
}

// Volatile returns an operator whose emits are dropped when the client's
// transport is not ready to write at once.
func (s *Socket) Volatile() *VolatileEmitter { return &VolatileEmitter{s: s} }

// VolatileEmitter emits events that may be dropped.
type VolatileEmitter struct{ s *Socket }

// Emit sends event unless the transport is busy.
func (v *VolatileEmitter) Emit(event string, args ...any) error {
	if socketio.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := encodeArgs(event, true, args)
	if err != nil {
		return err
	}
	return v.s.send(&socketio.Packet{Type: packetType(true, atts), Namespace: v.s.nsp.name, Data: data, Attachments: atts}, true)
}

// EmitWithAck sends an event and waits for the client's acknowledgement, for
// ctx to end (ErrAckTimeout when its deadline passed), or for the socket to
// disconnect (ErrDisconnected).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	type result struct {
		args Args
		err  error
	}
	ch := make(chan result, 1)
	timeout := time.Duration(0)
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return Args{}, ErrAckTimeout
		}
	}
	id, err := s.emitAck(event, args, timeout, func(a Args, err error) { ch <- result{a, err} })
	if err != nil {
		return Args{}, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.dropAck(id)
		if ctx.Err() == context.DeadlineExceeded {
			s.nsp.srv.cfg.Metrics.AckTimeout()
			return Args{}, ErrAckTimeout
		}
		return Args{}, ctx.Err()
	}
}

// EmitWithAckFunc sends an event and calls fn once with the client's
// acknowledgement, or with ErrAckTimeout after timeout (zero: no timeout),
// or ErrDisconnected. fn runs on an internal goroutine and must not block.
func (s *Socket) EmitWithAckFunc(timeout time.Duration, fn func(Args, error), event string, args ...any) error {
	_, err := s.emitAck(event, args, timeout, fn)
	return err
}

func (s *Socket) emitAck(event string, args []any, timeout time.Duration, fn func(Args, error)) (uint64, error) {
	if socketio.IsReserved(event) {
		return 0, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := encodeArgs(event, true, args)
	if err != nil {
		return 0, err
	}
	id := s.nsp.nextAckID()
	if !s.registerAck(id, timeout, fn) {
		return 0, ErrDisconnected
	}
	p := &socketio.Packet{Type: packetType(true, atts), Namespace: s.nsp.name, ID: id, HasID: true, Data: data, Attachments: atts}
	if err := s.send(p, false); err != nil {
		s.dropAck(id)
		return 0, err
	}
	return id, nil
}

// Broadcast returns an operator that emits to every socket of the namespace
// but this one.
func (s *Socket) Broadcast() *BroadcastOperator {
	return &BroadcastOperator{nsp: s.nsp, except: []string{s.id}}
}

// To returns an operator that emits to rooms, excluding this socket.
func (s *Socket) To(rooms ...string) *BroadcastOperator {
	return s.Broadcast().To(rooms...)
}

// Disconnect disconnects the socket from its namespace (the client sees
// "io server disconnect" and does not reconnect). With close, the whole
// connection is closed after every namespace got its DISCONNECT.
func (s *Socket) Disconnect(close bool) {
	if close {
		s.conn.disconnectAll()
		return
	}
	_ = s.send(&socketio.Packet{Type: socketio.Disconnect, Namespace: s.nsp.name}, false)
	s.conn.removeSocket(s)
	s.onClose(ReasonServerNamespaceDisconnect)
}

// CloseTransport closes the client's whole connection without a
// DISCONNECT packet (reason "forced close"): the client sees a transport
// close and reconnects, with its state restored when recovery is on.
func (s *Socket) CloseTransport() { s.conn.sess.Close() }

func (s *Socket) send(p *socketio.Packet, volatile bool) error {
	var one [1]engine.Frame
	f := one[:]
	if len(p.Attachments) == 0 {
		one[0] = engine.Frame{Data: encodePacket(p)} // no slice to allocate
	} else {
		f = frames(p)
	}
	if volatile {
		s.conn.sess.SendVolatile(f...)
		return nil
	}
	// Queued for the writer, never written inline (engine.Session.Send):
	// an ack or an emit to one socket comes with the traffic of that one
	// client, whose writer gathers it with the next ones; written inline
	// whenever the session had a short pause, the ack echo cost 5-8% more
	// CPU per ack when the server is the limit. Broadcasts decide in fanout.go.
	return sessionErr(s.conn.sess.Queue(f...))
}

func sessionErr(err error) error {
	switch err {
	case nil:
		return nil
	case engine.ErrSlowConsumer:
		return ErrSlowConsumer
	default:
		return ErrDisconnected
	}
}

// sendAck answers an acknowledgement. It goes through the connection's
// writer like any frame: under load the writer gathers many answers into
// one write, which costs far less than a write per answer.
func (s *Socket) sendAck(id uint64, args []any) error {
	data, atts, err := encodeArgs("", false, args)
	if err != nil {
		return err
	}
	p := &socketio.Packet{Type: packetType(false, atts), Namespace: s.nsp.name, ID: id, HasID: true, Data: data, Attachments: atts}
	return s.send(p, false)
}

// onEvent dispatches an EVENT from the client.
func (s *Socket) onEvent(p *socketio.Packet) {
	name, err := socketio.EventName(p.Data)
	if err != nil {
		return
	}
	s.mu.RLock()
	h := s.handlers[name]
	anyH := s.anyHandler
	s.mu.RUnlock()
	if h == nil {
		h = s.nsp.handler(name)
	}
	if h == nil {
		h = anyH
	}
	if h == nil {
		_, _, h = s.nsp.srv.hooks()
	}
	if h == nil {
		return
	}
	// One allocation for the event, its arguments and (for up to
	// len(elems)-1 arguments) their split.
	in := &struct {
		ev    Event
		args  argsVal
		elems [4][]byte
	}{}
	if eventArgs(&in.args, in.elems[:0], p.Data, p.Attachments) != nil {
		return
	}
	e := &in.ev
	e.Socket, e.Name, e.Args, e.ackID, e.hasAck = s, name, Args{&in.args}, p.ID, p.HasID
	s.safely(func() { h(e) })
}

// safely runs fn, turning a panic into a logged disconnect of this socket only.
func (s *Socket) safely(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.cfg.Metrics.Panic()
			s.nsp.srv.cfg.Logger.Error("edge: handler panic", "nsp", s.nsp.name, "sid", s.id, "panic", r, "stack", string(debug.Stack()))
			s.Disconnect(false)
		}
	}()
	fn()
}

// onClose ends the socket once: leaves its rooms, fails pending acks and
// runs the disconnect handlers.
func (s *Socket) onClose(reason string) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	s.connected, s.gone = false, true
	rooms := slices.Clone(s.rooms)
	acks := s.acks
	s.acks = nil
	handlers := s.onDisconnect
	data, user := s.data, s.user
	s.mu.Unlock()

	s.nsp.remove(s, rooms)
	s.trackDisconnect()
	if rec := s.nsp.srv.recovery; rec != nil && recoverable(reason) {
		rec.persist(s, rooms, data, user)
	}
	for _, a := range acks {
		a.finish(Args{}, ErrDisconnected)
	}
	s.nsp.srv.cfg.Metrics.SocketDisconnected(s.nsp.name, reason)
	for _, fn := range handlers {
		s.safelyNoDisconnect(func() { fn(reason) })
	}
	s.nsp.srv.hmu.RLock()
	global := s.nsp.srv.onDisconnect
	s.nsp.srv.hmu.RUnlock()
	for _, fn := range global {
		s.safelyNoDisconnect(func() { fn(s, reason) })
	}
}

// User returns the user id attached to the socket ("" if none).
func (s *Socket) User() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.user
}

// SetUser attaches a user id to the socket, e.g. from authentication; it
// survives recovery and is reported in presence.
func (s *Socket) SetUser(id string) {
	s.mu.Lock()
	s.user = id
	s.mu.Unlock()
	s.trackIdentity()
}

func (s *Socket) safelyNoDisconnect(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.cfg.Metrics.Panic()
			s.nsp.srv.cfg.Logger.Error("edge: disconnect handler panic", "nsp", s.nsp.name, "sid", s.id, "panic", r)
		}
	}()
	fn()
}
