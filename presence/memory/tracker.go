package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/presence"
)

var _ presence.Tracker = (*Tracker)(nil)

// Tracker is one node of a Cluster. It is safe for concurrent use.
type Tracker struct {
	c   *Cluster
	cfg presence.Config

	// Guarded by c.mu.
	own      map[sockKey]*sock // this node's sockets
	expires  time.Time         // lease
	closed   bool
	reaped   bool // removed by another tracker (lease expired or id taken over)
	replaced bool // id taken over by a newer tracker

	// Events waiting for delivery. evMu is taken after c.mu, never before.
	evMu      sync.Mutex
	events    []presence.Event
	queued    uint64
	delivered uint64
	deliverCh chan struct{} // closed and replaced after each delivery

	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
}

// New starts a single node on a cluster of its own.
func New(cfg presence.Config) (*Tracker, error) {
	return NewCluster().Start(cfg)
}

// Start starts a node on c. A node with the id of a registered one replaces
// it: the previous one's sockets are removed at once, with their events, and
// it gets ErrNodeIDConflict from then on.
func (c *Cluster) Start(cfg presence.Config) (*Tracker, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	t := &Tracker{
		c: c, cfg: cfg,
		own:       make(map[sockKey]*sock),
		deliverCh: make(chan struct{}),
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
	}
	c.mu.Lock()
	reaped := 0
	if old := c.nodes[cfg.NodeID]; old != nil {
		old.replaced = true
		reaped = c.reap(old, t)
	}
	c.nodes[cfg.NodeID] = t
	t.expires = time.Now().Add(cfg.TTL)
	c.mu.Unlock()
	t.cfg.Metrics.Reaped(reaped)
	t.wg.Add(2)
	go t.deliver()
	go t.heartbeat()
	return t, nil
}

// writable reports why t cannot change the cluster, if it cannot. c.mu held.
func (t *Tracker) writable() error {
	switch {
	case t.closed:
		return presence.ErrClosed
	case t.replaced:
		return presence.ErrNodeIDConflict
	case t.reaped:
		return fmt.Errorf("%w: node %q was taken for dead", presence.ErrClosed, t.cfg.NodeID)
	}
	return nil
}

// Connect makes m a member of namespace ns; see presence.Tracker.
func (t *Tracker) Connect(ns string, m presence.Member) error {
	if err := presence.CheckNames(ns, m.SID); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	m.Node, m.Data = t.cfg.NodeID, normData(m.Data)
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	k := sockKey{ns, m.SID}
	var rooms []string
	if s := c.socks[k]; s != nil {
		if s.owner == t && s.m.User == m.User {
			s.m.Data = m.Data
			return nil
		}
		if s.owner == t { // a change of user: the socket keeps its rooms
			for r := range s.rooms {
				rooms = append(rooms, r)
			}
		}
		c.drop(s, t) // or another node's stale socket: taken over
	}
	s := &sock{owner: t, ns: ns, m: m, rooms: make(map[string]struct{})}
	c.socks[k] = s
	t.own[k] = s
	c.add(s, "", t)
	for _, r := range rooms {
		c.add(s, r, t)
	}
	return nil
}

// lookup returns this node's socket sid in ns. c.mu held.
func (t *Tracker) lookup(ns, sid string) (*sock, error) {
	if err := t.writable(); err != nil {
		return nil, err
	}
	s := t.own[sockKey{ns, sid}]
	if s == nil {
		return nil, fmt.Errorf("%w: %q in %q", presence.ErrUnknownSocket, sid, ns)
	}
	return s, nil
}

// Join puts a connected socket in rooms; see presence.Tracker.
func (t *Tracker) Join(ns, sid string, rooms ...string) error {
	return t.update(ns, sid, rooms, t.c.add)
}

// Leave takes a connected socket out of rooms; see presence.Tracker.
func (t *Tracker) Leave(ns, sid string, rooms ...string) error {
	return t.update(ns, sid, rooms, t.c.del)
}

// update applies op to a connected socket for each of rooms.
func (t *Tracker) update(ns, sid string, rooms []string, op func(*sock, string, *Tracker)) error {
	if err := presence.CheckNames(ns, sid, rooms...); err != nil {
		return err
	}
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	s, err := t.lookup(ns, sid)
	if err != nil {
		return err
	}
	for _, r := range rooms {
		op(s, r, t)
	}
	return nil
}

// SetData replaces a connected socket's data; see presence.Tracker.
func (t *Tracker) SetData(ns, sid string, data json.RawMessage) error {
	if err := (presence.Member{SID: sid, Data: data}).Validate(); err != nil {
		return err
	}
	if err := presence.CheckNames(ns, sid); err != nil {
		return err
	}
	data = normData(data)
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	s, err := t.lookup(ns, sid)
	if err != nil {
		return err
	}
	s.m.Data = data
	return nil
}

// Disconnect removes a socket from its namespace and rooms; see
// presence.Tracker.
func (t *Tracker) Disconnect(ns, sid string) error {
	if err := presence.CheckNames(ns, sid); err != nil {
		return err
	}
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	if s := t.own[sockKey{ns, sid}]; s != nil {
		t.c.drop(s, t)
	}
	return nil
}

// Counts answers from the cluster; see presence.Reader.
func (t *Tracker) Counts(ctx context.Context, ns, room string) (presence.Counts, error) {
	if err := t.readable(); err != nil {
		return presence.Counts{}, err
	}
	return t.c.Counts(ctx, ns, room)
}

// Query answers from the cluster; see presence.Reader.
func (t *Tracker) Query(ctx context.Context, q presence.Query) (presence.Page, error) {
	if err := t.readable(); err != nil {
		return presence.Page{}, err
	}
	return t.c.Query(ctx, q)
}

// SocketRooms answers from the cluster; see presence.Reader.
func (t *Tracker) SocketRooms(ctx context.Context, ns, sid string) ([]string, error) {
	if err := t.readable(); err != nil {
		return nil, err
	}
	return t.c.SocketRooms(ctx, ns, sid)
}

func (t *Tracker) readable() error {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.closed {
		return presence.ErrClosed
	}
	return nil
}

// Sync waits until the events of the changes made before it were handed to
// OnEvent (the changes themselves are visible at once).
func (t *Tracker) Sync(ctx context.Context) error {
	t.evMu.Lock()
	target := t.queued
	t.evMu.Unlock()
	for {
		t.evMu.Lock()
		done, ch := t.delivered >= target, t.deliverCh
		t.evMu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-t.stop:
			return presence.ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close removes this node's sockets (emitting their leaves), delivers the
// pending events and stops the tracker.
func (t *Tracker) Close(ctx context.Context) error {
	c := t.c
	c.mu.Lock()
	if t.closed {
		c.mu.Unlock()
		return presence.ErrClosed
	}
	reaped := 0
	if !t.reaped {
		reaped = c.reap(t, t)
	}
	t.closed = true
	c.mu.Unlock()
	t.cfg.Metrics.Reaped(reaped)
	err := t.Sync(ctx)
	close(t.stop)
	t.wg.Wait()
	return err
}

// Abandon stops the tracker at once without removing its sockets, as a crash
// would: a surviving tracker removes them when the lease expires. Pending
// events are dropped. For tests and fault injection.
func (t *Tracker) Abandon() {
	t.c.mu.Lock()
	if t.closed {
		t.c.mu.Unlock()
		return
	}
	t.closed = true
	t.c.mu.Unlock()
	close(t.stop)
	t.wg.Wait()
}

// emit queues an event for delivery. c.mu held.
func (t *Tracker) emit(ev presence.Event) {
	t.evMu.Lock()
	t.events = append(t.events, ev)
	t.queued++
	t.evMu.Unlock()
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// deliver hands queued events to OnEvent until the tracker stops.
func (t *Tracker) deliver() {
	defer t.wg.Done()
	for {
		select {
		case <-t.stop:
			return
		case <-t.kick:
		}
		t.evMu.Lock()
		evs := t.events
		t.events = nil
		t.evMu.Unlock()
		for _, ev := range evs {
			t.cfg.OnEvent(ev)
		}
		t.evMu.Lock()
		t.delivered += uint64(len(evs))
		close(t.deliverCh)
		t.deliverCh = make(chan struct{})
		t.evMu.Unlock()
	}
}

// heartbeat refreshes the lease and removes the nodes whose lease expired.
func (t *Tracker) heartbeat() {
	defer t.wg.Done()
	tick := time.NewTicker(t.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		c := t.c
		reaped := make(map[string]int)
		c.mu.Lock()
		if !t.closed && !t.reaped {
			t.expires = now.Add(t.cfg.TTL)
			for _, n := range c.nodes {
				if n != t && n.expires.Before(now) {
					reaped[n.cfg.NodeID] = c.reap(n, t)
				}
			}
		}
		c.mu.Unlock()
		for node, n := range reaped {
			t.cfg.Logger.Warn("presence: removed a dead node's sockets", "node", t.cfg.NodeID, "dead", node, "sockets", n)
			t.cfg.Metrics.Reaped(n)
		}
	}
}

// normData returns a private copy of data, nil for JSON null.
func normData(d json.RawMessage) json.RawMessage {
	d = bytes.TrimSpace(d)
	if len(d) == 0 || string(d) == "null" {
		return nil
	}
	return append(json.RawMessage(nil), d...)
}
