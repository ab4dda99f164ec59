package edge

import (
	"sync/atomic"
	"time"

	"github.com/switchboard-rt/switchboard/edge/engine"
)

// fanout chooses how a broadcast reaches its local recipients.
//
// Written by the broadcasting goroutine (engine.Session.Send), a frame for a
// quiet WebSocket costs one non-blocking write and no goroutine hand-off:
// the least a paced broadcast can cost, and the lowest latency. Left to each
// session's writer (engine.Session.Queue), it costs a wake-up per recipient,
// but when broadcasts follow each other closely every writer gathers several
// of them into one write, which is what makes a high broadcast rate cheap.
// The choice follows the duty cycle: a broadcast is written inline when the
// server has been idle (between broadcasts) at least as long as the previous
// broadcast's delivery took, i.e. while inline delivery keeps up with the
// rate; back-to-back broadcasts are queued.
type fanout struct {
	lastEnd atomic.Int64 // when the last delivery ended (ns on fanClock)
	lastDur atomic.Int64 // how long it took
}

var fanEpoch = time.Now()

func fanClock() int64 { return int64(time.Since(fanEpoch)) }

// begin starts a delivery; inline says whether it may write inline.
func (f *fanout) begin() (start int64, inline bool) {
	start = fanClock()
	return start, start-f.lastEnd.Load() >= f.lastDur.Load()
}

// end records a delivery that began at start.
func (f *fanout) end(start int64) {
	now := fanClock()
	f.lastDur.Store(now - start)
	f.lastEnd.Store(now)
}

// fanSend hands f to s the way begin chose.
func fanSend(s *Socket, inline bool, f []engine.Frame) error {
	if inline {
		return s.conn.sess.Send(f...)
	}
	return s.conn.sess.Queue(f...)
}
