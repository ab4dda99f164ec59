package gateway

import (
	"time"

	"github.com/switchboard-rt/switchboard/contract"
)

// Events waiting for a service's answer expire in the order they were sent
// (they all have the same timeout), so one FIFO and one sweeper goroutine
// replace a timer per event: under load that is an allocation and two timer
// heap operations less per event.

type expiry struct {
	id uint64
	at time.Time
}

// sweepEvery is how often expired events are failed: a tenth of the ack
// timeout (an answer is late by at most that much more), within bounds.
func sweepEvery(ackTimeout time.Duration) time.Duration {
	return min(max(ackTimeout/10, 5*time.Millisecond), time.Second)
}

// sweepLoop fails the events whose service did not answer in time, until
// the gateway closes.
func (g *Gateway) sweepLoop() {
	defer g.wg.Done()
	t := time.NewTicker(sweepEvery(g.cfg.AckTimeout))
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case now := <-t.C:
			for _, p := range g.expired(now) {
				g.fail(p.e, contract.CodeTimeout, "service did not answer in "+g.cfg.AckTimeout.String())
			}
		}
	}
}

// expired takes the pending events whose deadline passed.
func (g *Gateway) expired(now time.Time) []*pendingEvent {
	var out []*pendingEvent
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.expHead < len(g.expiries) {
		x := g.expiries[g.expHead]
		if x.at.After(now) {
			break
		}
		g.expHead++
		if p := g.pending[x.id]; p != nil {
			delete(g.pending, x.id)
			out = append(out, p)
		}
	}
	// Compact once the consumed head outweighs the live tail.
	if g.expHead > 1024 && g.expHead > len(g.expiries)/2 {
		n := copy(g.expiries, g.expiries[g.expHead:])
		g.expiries = g.expiries[:n]
		g.expHead = 0
	}
	return out
}
