// Package memory is a bus.Adapter for nodes that live in one process: a
// Hub connects them, and every operation is a direct call into the other
// nodes' bus.Local. It serves `switchboard dev`, the edge's own tests of
// cluster behaviour, and as the reference the other adapters are compared
// with.
package memory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
)

// Hub connects the adapters of one process.
type Hub struct {
	mu    sync.RWMutex
	nodes map[string]*Adapter
	order []*Adapter // attach order, for deterministic iteration
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{nodes: make(map[string]*Adapter)} }

// Adapter is one node's connection to a Hub.
type Adapter struct {
	hub *Hub
	id  string

	mu     sync.RWMutex
	nsps   map[string]bus.Local
	closed bool
	deaf   bool // simulates a node that stopped answering
}

var _ bus.Adapter = (*Adapter)(nil)

// Join adds a node to the hub. An empty id means a generated one; an id
// already in use fails with an error wrapping bus.ErrNodeIDConflict.
func (h *Hub) Join(id string) (*Adapter, error) {
	if id == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.nodes[id]; ok {
		return nil, fmt.Errorf("memory: node %q: %w", id, bus.ErrNodeIDConflict)
	}
	a := &Adapter{hub: h, id: id, nsps: make(map[string]bus.Local)}
	h.nodes[id] = a
	h.order = append(h.order, a)
	return a, nil
}

// NodeID returns the node's id.
func (a *Adapter) NodeID() string { return a.id }

// Ready always succeeds: there is nothing to reach.
func (a *Adapter) Ready() error { return nil }

// SetDeaf makes the node stop answering cluster requests (broadcasts still
// reach it), the way a hung node behaves; tests use it for partial results.
func (a *Adapter) SetDeaf(deaf bool) {
	a.mu.Lock()
	a.deaf = deaf
	a.mu.Unlock()
}

// Close leaves the hub.
func (a *Adapter) Close() error {
	a.mu.Lock()
	a.closed = true
	a.nsps = map[string]bus.Local{}
	a.mu.Unlock()
	h := a.hub
	h.mu.Lock()
	if h.nodes[a.id] == a {
		delete(h.nodes, a.id)
	}
	h.order = slices.DeleteFunc(h.order, func(x *Adapter) bool { return x == a })
	h.mu.Unlock()
	return nil
}

// Attach links namespace nsp of this node.
func (a *Adapter) Attach(nsp string, local bus.Local) (bus.Namespace, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, bus.ErrClosed
	}
	a.nsps[nsp] = local
	return &namespace{a: a, name: nsp}, nil
}

// peer is another node's local side of a namespace.
type peer struct {
	id    string
	local bus.Local
	deaf  bool
}

// peers returns the other nodes that have nsp attached.
func (a *Adapter) peers(nsp string) []peer {
	a.hub.mu.RLock()
	nodes := slices.Clone(a.hub.order)
	a.hub.mu.RUnlock()
	var out []peer
	for _, o := range nodes {
		if o == a {
			continue
		}
		o.mu.RLock()
		l, ok := o.nsps[nsp]
		deaf := o.deaf
		o.mu.RUnlock()
		if ok {
			out = append(out, peer{id: o.id, local: l, deaf: deaf})
		}
	}
	return out
}

type namespace struct {
	a    *Adapter
	name string
}

func (n *namespace) check() error {
	n.a.mu.RLock()
	defer n.a.mu.RUnlock()
	if n.a.closed {
		return bus.ErrClosed
	}
	return nil
}

func (n *namespace) Publish(_ context.Context, b *bus.Broadcast) error {
	if err := n.check(); err != nil {
		return err
	}
	for _, p := range n.a.peers(n.name) {
		p.local.Broadcast(b)
	}
	return nil
}

// ask runs fn on every answering peer and names the deaf ones missing.
func (n *namespace) ask(fn func(p peer)) (bus.Result, error) {
	if err := n.check(); err != nil {
		return bus.Result{}, err
	}
	res := bus.Result{Missing: []string{}}
	for _, p := range n.a.peers(n.name) {
		if p.deaf {
			res.Missing = append(res.Missing, p.id)
			continue
		}
		fn(p)
		res.Answered++
	}
	return res, nil
}

func (n *namespace) PublishWithAck(ctx context.Context, b *bus.Broadcast, timeout time.Duration, count func(int), ack func(bus.Message)) (bus.Result, error) {
	var mu sync.Mutex
	expected, got := 0, 0
	done := make(chan struct{})
	closed := false
	finish := func() {
		if !closed && got >= expected {
			closed = true
			close(done)
		}
	}
	mu.Lock()
	res, err := n.ask(func(p peer) {
		c := p.local.BroadcastWithAck(b, timeout, func(m bus.Message) {
			mu.Lock()
			defer mu.Unlock()
			if closed {
				return
			}
			got++
			ack(m)
			finish()
		})
		expected += c
		count(c)
	})
	if err != nil {
		mu.Unlock()
		return res, err
	}
	finish()
	mu.Unlock()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	case <-ctx.Done():
	}
	mu.Lock()
	closed = true
	mu.Unlock()
	return res, nil
}

func (n *namespace) Join(_ context.Context, sel bus.Selector, rooms []string) (int, bus.Result, error) {
	matched := 0
	res, err := n.ask(func(p peer) { matched += p.local.Join(sel, rooms) })
	return matched, res, err
}

func (n *namespace) Leave(_ context.Context, sel bus.Selector, rooms []string) (int, bus.Result, error) {
	matched := 0
	res, err := n.ask(func(p peer) { matched += p.local.Leave(sel, rooms) })
	return matched, res, err
}

func (n *namespace) Disconnect(_ context.Context, sel bus.Selector, close bool) (int, bus.Result, error) {
	matched := 0
	res, err := n.ask(func(p peer) { matched += p.local.Disconnect(sel, close) })
	return matched, res, err
}

func (n *namespace) FetchSockets(_ context.Context, sel bus.Selector) ([]bus.SocketInfo, bus.Result, error) {
	var out []bus.SocketInfo
	res, err := n.ask(func(p peer) {
		for _, s := range p.local.Sockets(sel) {
			if s.Node == "" {
				s.Node = p.id
			}
			out = append(out, s)
		}
	})
	return out, res, err
}

func (n *namespace) AllRooms(context.Context) ([]string, bus.Result, error) {
	var out []string
	res, err := n.ask(func(p peer) { out = append(out, p.local.Rooms()...) })
	slices.Sort(out)
	return slices.Compact(out), res, err
}

func (n *namespace) ServerSideEmit(ctx context.Context, m bus.Message, reply func(bus.Message)) (bus.Result, error) {
	if reply == nil {
		_, err := n.ask(func(p peer) { p.local.ServerSideEmit(m, nil) })
		return bus.Result{Missing: []string{}}, err
	}
	if err := n.check(); err != nil {
		return bus.Result{}, err
	}
	var mu sync.Mutex
	answered := map[string]bool{}
	peers := n.a.peers(n.name)
	done := make(chan struct{})
	stopped := false
	for _, p := range peers {
		if p.deaf {
			continue
		}
		p.local.ServerSideEmit(m, func(r bus.Message) {
			mu.Lock()
			defer mu.Unlock()
			if stopped || answered[p.id] {
				return
			}
			answered[p.id] = true
			reply(r)
			if len(answered) == len(peers) {
				close(done)
			}
		})
	}
	if len(peers) == 0 {
		close(done)
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	stopped = true
	res := bus.Result{Answered: len(answered), Missing: []string{}}
	for _, p := range peers {
		if !answered[p.id] {
			res.Missing = append(res.Missing, p.id)
		}
	}
	return res, nil
}

func (n *namespace) RoomCreated(string) {}
func (n *namespace) RoomDeleted(string) {}

func (n *namespace) Close() error {
	n.a.mu.Lock()
	delete(n.a.nsps, n.name)
	n.a.mu.Unlock()
	return nil
}
