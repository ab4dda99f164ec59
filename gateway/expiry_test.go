package gateway

import (
	"testing"
	"time"
)

// The expiry FIFO fails exactly the pending events whose deadline passed,
// skips answered ones, and keeps the rest across compactions.
func TestExpiredInOrder(t *testing.T) {
	g := &Gateway{pending: map[uint64]*pendingEvent{}}
	base := time.Now()
	const n = 5000
	for i := uint64(1); i <= n; i++ {
		g.pending[i] = &pendingEvent{}
		g.expiries = append(g.expiries, expiry{id: i, at: base.Add(time.Duration(i) * time.Millisecond)})
	}
	for i := uint64(2); i <= n; i += 2 {
		delete(g.pending, i) // answered
	}
	got := g.expired(base.Add(3000 * time.Millisecond))
	if len(got) != 1500 {
		t.Fatalf("expired %d events, want 1500 (odd ids up to 3000)", len(got))
	}
	if len(g.pending) != 1000 {
		t.Fatalf("%d still pending, want 1000", len(g.pending))
	}
	got = g.expired(base.Add(time.Hour))
	if len(got) != 1000 || len(g.pending) != 0 {
		t.Fatalf("second sweep: %d expired, %d pending", len(got), len(g.pending))
	}
	if g.expHead != len(g.expiries) && len(g.expiries) != 0 {
		t.Fatalf("head %d of %d", g.expHead, len(g.expiries))
	}
}

func TestSweepEvery(t *testing.T) {
	for _, c := range []struct{ timeout, want time.Duration }{
		{10 * time.Second, time.Second}, {200 * time.Millisecond, 20 * time.Millisecond}, {time.Millisecond, 5 * time.Millisecond},
	} {
		if got := sweepEvery(c.timeout); got != c.want {
			t.Errorf("sweepEvery(%v) = %v, want %v", c.timeout, got, c.want)
		}
	}
}
