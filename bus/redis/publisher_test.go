package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
)

// The outgoing queue is bounded in bytes: beyond it, publishers wait while Redis takes
// messages, fail at once while it does not, and volatile messages are dropped.
func TestPublisherQueueBound(t *testing.T) {
	m := newMetrics()
	a := offlineAdapter("A", m)
	defer a.cancel()
	p := newPublisher(a) // no writer goroutine: the test takes from the queue itself
	p.max = 100
	msg := func(n int, volatile bool) outMsg {
		return outMsg{channel: "c", payload: make([]byte, n), kind: KindBroadcast, volatile: volatile}
	}
	if err := p.enqueue(context.Background(), msg(80, false)); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.enqueue(short, msg(50, false)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("enqueue over the bound: %v, want to wait until the deadline", err)
	}
	if err := p.enqueue(context.Background(), msg(50, true)); err != nil || m.drops(ReasonQueueFull) != 2 {
		t.Errorf("volatile enqueue over the bound: %v, %d drops", err, m.drops(ReasonQueueFull))
	}
	waited := make(chan error, 1)
	go func() { waited <- p.enqueue(context.Background(), msg(50, false)) }()
	time.Sleep(20 * time.Millisecond)
	if got := p.take(nil); len(got) != 1 || len(got[0].payload) != 80 {
		t.Fatalf("take: %d messages", len(got))
	}
	if err := <-waited; err != nil {
		t.Errorf("enqueue once there is room: %v", err)
	}
	// While publishing fails, nothing waits.
	e := errors.New("down")
	p.err.Store(&e)
	if err := p.enqueue(context.Background(), msg(80, false)); !errors.Is(err, bus.ErrUnavailable) {
		t.Errorf("enqueue over the bound while failing: %v", err)
	}
	if err := p.enqueue(context.Background(), msg(1, true)); err != nil || m.drops(ReasonPublishFailed) != 1 {
		t.Errorf("volatile enqueue while failing: %v", err)
	}
	p.err.Store(nil)
	go func() { waited <- p.enqueue(context.Background(), msg(80, false)) }()
	time.Sleep(20 * time.Millisecond)
	close(p.exited) // no writer to wait for
	p.stop(false)
	if err := <-waited; !errors.Is(err, bus.ErrClosed) {
		t.Errorf("enqueue waiting at stop: %v", err)
	}
}
