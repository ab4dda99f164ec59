package edge

import (
	"sync"
	"sync/atomic"
)

// interest queues the room creations and deletions of a namespace for its
// adapter, in the order the room index saw them. Events are queued under
// the namespace lock and handed over after it is released (adapters may
// touch the network), by one drainer at a time so that their order holds.
type interest struct {
	mu       sync.Mutex
	queue    []roomChange
	draining bool
	// off is set when the namespace could not be attached or was
	// detached: nothing would ever drain the queue.
	off atomic.Bool
}

type roomChange struct {
	room    string
	created bool
}

// roomChangedLocked records that room got its first member (created) or
// lost its last; n.mu is held.
func (n *Namespace) roomChangedLocked(room string, created bool) {
	if n.srv.cfg.Adapter == nil || n.interest.off.Load() {
		return
	}
	n.interest.mu.Lock()
	n.interest.queue = append(n.interest.queue, roomChange{room, created})
	n.interest.mu.Unlock()
}

// flushInterest hands the queued room changes to the adapter; call it
// without n.mu held.
func (n *Namespace) flushInterest() {
	in := &n.interest
	in.mu.Lock()
	if in.draining || len(in.queue) == 0 {
		in.mu.Unlock()
		return
	}
	c := n.cluster()
	if c == nil {
		in.mu.Unlock() // kept until the namespace is attached
		return
	}
	in.draining = true
	for len(in.queue) > 0 {
		batch := in.queue
		in.queue = nil
		in.mu.Unlock()
		for _, ch := range batch {
			if ch.created {
				c.RoomCreated(ch.room)
			} else {
				c.RoomDeleted(ch.room)
			}
		}
		in.mu.Lock()
	}
	in.draining = false
	in.mu.Unlock()
}
