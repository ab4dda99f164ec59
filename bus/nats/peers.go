package nats

import (
	"sort"
	"sync"
	"time"
)

// peers is the table of the other live nodes: those heard from (heartbeat,
// hello, answer to our hello) within the TTL and not gone (goodbye).
type peers struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]peer // by node id
}

type peer struct {
	inst uint64
	seen time.Time
}

func (p *peers) init(ttl time.Duration) {
	p.ttl = ttl
	p.m = make(map[string]peer)
}

// seen records a sign of life; it reports whether the node is new (or a
// new instance of it: the node restarted).
func (p *peers) seen(node string, inst uint64, now time.Time) (fresh bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old, ok := p.m[node]
	p.m[node] = peer{inst: inst, seen: now}
	return !ok || old.inst != inst
}

// remove forgets a node that said goodbye, unless a newer instance of it
// took its place; it reports whether the node was known.
func (p *peers) remove(node string, inst uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.m[node]; ok && old.inst == inst {
		delete(p.m, node)
		return true
	}
	return false
}

// expire forgets the nodes silent for longer than the TTL and returns them.
func (p *peers) expire(now time.Time) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var gone []string
	for id, pr := range p.m {
		if now.Sub(pr.seen) > p.ttl {
			delete(p.m, id)
			gone = append(gone, id)
		}
	}
	return gone
}

// live returns the nodes heard from within the TTL.
func (p *peers) live(now time.Time) map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]bool, len(p.m))
	for id, pr := range p.m {
		if now.Sub(pr.seen) <= p.ttl {
			out[id] = true
		}
	}
	return out
}

func (p *peers) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}

func sortedKeys(m map[string]bool, skip map[string]bool) []string {
	out := []string{}
	for k := range m {
		if !skip[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
