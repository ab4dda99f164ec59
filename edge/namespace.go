package edge

import (
	"sync"
	"sync/atomic"
)

// Middleware runs when a client connects to a namespace, before the
// connection is accepted. Returning an error refuses it: a *ConnectError
// reaches the client with its Message and Data, any other error with its
// text. Middlewares run on the connection's read goroutine, in order.
type Middleware func(s *Socket) error

// Namespace is a Socket.IO namespace: a named channel multiplexed on client
// connections, with its own sockets, rooms and middlewares.
type Namespace struct {
	srv  *Server
	name string

	ackIDs atomic.Uint64

	hmu         sync.RWMutex
	middlewares []Middleware
	onConnect   []func(*Socket)
	handlers    map[string]Handler
	parent      *Namespace // the dynamic namespace group this one was created from
	serverSide  map[string]ServerSideHandler

	link     atomic.Pointer[link] // nil while the server runs alone
	interest interest

	mu      sync.RWMutex
	sockets map[string]*Socket
	rooms   map[string]map[*Socket]struct{}
}

func newNamespace(srv *Server, name string) *Namespace {
	return &Namespace{
		srv:     srv,
		name:    name,
		sockets: make(map[string]*Socket),
		rooms:   make(map[string]map[*Socket]struct{}),
	}
}

// Name returns the namespace name, e.g. "/" or "/chat".
func (n *Namespace) Name() string { return n.name }

// Use adds a connection middleware.
func (n *Namespace) Use(mw Middleware) {
	n.hmu.Lock()
	n.middlewares = append(n.middlewares, mw)
	n.hmu.Unlock()
}

// OnConnection registers fn to run for every socket that connects. It runs
// after the client got the CONNECT reply; register the socket's handlers there.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.hmu.Lock()
	n.onConnect = append(n.onConnect, fn)
	n.hmu.Unlock()
}

func (n *Namespace) nextAckID() uint64 { return n.ackIDs.Add(1) - 1 }

func (n *Namespace) hooks() ([]Middleware, []func(*Socket)) {
	var mws []Middleware
	var cbs []func(*Socket)
	if n.parent != nil {
		mws, cbs = n.parent.hooks()
	} else {
		smws, scbs, _ := n.srv.hooks()
		mws = append(mws, smws...)
		cbs = append(cbs, scbs...)
	}
	n.hmu.RLock()
	mws = append(mws, n.middlewares...)
	cbs = append(cbs, n.onConnect...)
	n.hmu.RUnlock()
	return mws, cbs
}

// Socket returns the connected socket with id, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// Len returns the number of connected sockets.
func (n *Namespace) Len() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// add registers a connected socket and its rooms.
func (n *Namespace) add(s *Socket, rooms []string) {
	n.mu.Lock()
	n.sockets[s.id] = s
	n.addToRoomsLocked(s, rooms)
	n.mu.Unlock()
	n.flushInterest()
}

// addRestored registers a restored socket and queues what it missed, under
// the write lock so that no broadcast falls between the two.
func (n *Namespace) addRestored(s *Socket, rooms []string, rec *recovery) {
	n.mu.Lock()
	rec.replayLocked(s, rooms)
	n.sockets[s.id] = s
	n.addToRoomsLocked(s, rooms)
	n.mu.Unlock()
	n.flushInterest()
}

func (n *Namespace) remove(s *Socket, rooms []string) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.removeFromRoomsLocked(s, rooms)
	n.mu.Unlock()
	n.flushInterest()
}

func (n *Namespace) addToRooms(s *Socket, rooms []string) {
	if len(rooms) == 0 {
		return
	}
	n.mu.Lock()
	n.addToRoomsLocked(s, rooms)
	n.mu.Unlock()
	n.flushInterest()
}

// The index leaves out each socket's own room (its id): n.sockets serves
// it, which saves a map per socket.
func (n *Namespace) addToRoomsLocked(s *Socket, rooms []string) {
	for _, r := range rooms {
		if r == s.id {
			continue
		}
		m := n.rooms[r]
		if m == nil {
			m = make(map[*Socket]struct{})
			n.rooms[r] = m
			n.roomChangedLocked(r, true)
		}
		m[s] = struct{}{}
	}
}

func (n *Namespace) removeFromRooms(s *Socket, rooms []string) {
	if len(rooms) == 0 {
		return
	}
	n.mu.Lock()
	n.removeFromRoomsLocked(s, rooms)
	n.mu.Unlock()
	n.flushInterest()
}

func (n *Namespace) removeFromRoomsLocked(s *Socket, rooms []string) {
	for _, r := range rooms {
		if r == s.id {
			continue
		}
		if m := n.rooms[r]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(n.rooms, r)
				n.roomChangedLocked(r, false)
			}
		}
	}
}

// Rooms returns the names of the rooms that have members on this node,
// the rooms named by socket ids included.
func (n *Namespace) Rooms() []string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]string, 0, len(n.rooms)+len(n.sockets))
	for r := range n.rooms {
		out = append(out, r)
	}
	for id := range n.sockets {
		if _, dup := n.rooms[id]; !dup {
			out = append(out, id)
		}
	}
	return out
}

// On registers a handler of event for every socket of the namespace; a
// handler registered on the socket itself takes precedence. One
// registration serves all sockets, which is cheaper than Socket.On for
// handlers that do not need per-socket state.
func (n *Namespace) On(event string, h Handler) {
	n.hmu.Lock()
	if n.handlers == nil {
		n.handlers = make(map[string]Handler)
	}
	n.handlers[event] = h
	n.hmu.Unlock()
}

// handler returns the namespace-level handler of event (a dynamic
// namespace inherits its group's).
func (n *Namespace) handler(event string) Handler {
	n.hmu.RLock()
	h := n.handlers[event]
	n.hmu.RUnlock()
	if h == nil && n.parent != nil {
		return n.parent.handler(event)
	}
	return h
}
