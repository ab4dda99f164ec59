package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// broadcastRun is the state of one Broadcast run shared by the trigger and the
// receivers' read goroutines.
type broadcastRun struct {
	base      time.Time    // payload timestamps are nanoseconds since base
	receivers atomic.Int64 // clients that joined; set before the first broadcast

	measureFrom atomic.Int64  // record latency of messages sent at or after this
	sent        atomic.Int64  // broadcasts sent
	delivered   atomic.Uint64 // "msg" events received, all receivers
	lastRecv    atomic.Int64  // receive time of the latest message
	outOfOrder  atomic.Uint64
	malformed   atomic.Uint64
	hist        histogram

	// The trigger sets waiting when the window is full; a receiver that
	// brings the in-flight count under the resume mark kicks it.
	waiting atomic.Bool
	resume  atomic.Int64 // in-flight messages at or under which to kick
	kick    chan struct{}
}

// onPacket runs on each receiver's read goroutine, for every packet.
func (s *broadcastRun) onPacket(c *client, p packet) {
	if p.typ != sioEvent {
		return
	}
	now := int64(time.Since(s.base))
	t, seq, ok := parseMsg(p.data)
	if !ok {
		s.malformed.Add(1)
		return
	}
	if seq < c.seq {
		s.outOfOrder.Add(1)
	} else {
		c.seq = seq + 1
	}
	if t >= s.measureFrom.Load() {
		s.hist.Record(time.Duration(now - t))
	}
	d := s.delivered.Add(1)
	s.lastRecv.Store(now)
	if s.waiting.Load() && s.sent.Load()*s.receivers.Load()-int64(d) <= s.resume.Load() {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// inFlight is the number of messages sent but not yet received.
func (s *broadcastRun) inFlight() int64 {
	return s.sent.Load()*s.receivers.Load() - int64(s.delivered.Load())
}

// Broadcast connects cfg.Clients receivers that join cfg.Room (by an acked
// "join" event) and one trigger client that does not join, then has the
// trigger emit "broadcast"(room, payload) at cfg.Rate per second, or as fast as
// cfg.Window allows, for cfg.Warmup plus cfg.Duration. The receivers time each
// "msg" from the send timestamp inside its payload. Throughput and server CPU
// cover the measured phase; latency covers the messages sent in it; loss
// covers the whole run, after up to cfg.Drain for stragglers.
func Broadcast(ctx context.Context, cfg BroadcastConfig) (BroadcastReport, error) {
	rc, err := cfg.Config.resolve()
	if err != nil {
		return BroadcastReport{}, err
	}
	room := orDefault(cfg.Room, defaultRoom)
	window := int64(orDefault(cfg.Window, defaultWindow))
	warmup := warmupOr(cfg.Warmup, defaultWarmup)
	duration := orDefault(cfg.Duration, defaultDuration)
	drain := orDefault(cfg.Drain, defaultDrain)
	pl := newPayload(orDefault(cfg.PayloadSize, defaultPayload))
	if cfg.Rate < 0 || window < 1 {
		return BroadcastReport{}, fmt.Errorf("%w: rate %d, window %d", errConfig, cfg.Rate, window)
	}
	if err := checkOpenFiles(rc.Clients + 1); err != nil {
		return BroadcastReport{}, err
	}

	s := &broadcastRun{base: time.Now(), kick: make(chan struct{}, 1)}
	s.measureFrom.Store(math.MaxInt64)
	f := newFleet(rc, readBufferSize)
	defer f.close()
	cancelWatch := f.closeOnDone(ctx)
	defer cancelWatch()

	roomJSON := quoteJSON(room)
	join := func(c *client) error { return c.join(roomJSON) }
	r := BroadcastReport{Clients: rc.Clients, Rate: cfg.Rate, Window: int(window)}
	got, err := f.connect(ctx, 0, rc.Clients, join, s)
	r.Joined, r.Failed = len(got), int(f.failed.Load())
	if err != nil {
		return r, err
	}
	if len(got) == 0 {
		return r, errors.New("loadtest: clients failed to connect: " + f.errString())
	}
	tr := &trigger{
		run: s, nsp: rc.Namespace, room: roomJSON, pl: pl, rate: cfg.Rate,
	}
	if cfg.TriggerNATS != "" {
		nt, err := newNATSTrigger(cfg.TriggerNATS, orDefault(cfg.SubjectPrefix, "sb"), rc.Namespace, room)
		if err != nil {
			return r, err
		}
		defer nt.close()
		tr.out = nt
	} else {
		trig, err := f.connect(ctx, rc.Clients, 1, nil, nopHandler{})
		if err != nil {
			return r, err
		}
		if len(trig) == 0 {
			return r, errors.New("loadtest: trigger failed to connect: " + f.errString())
		}
		tr.out = clientTrigger{c: trig[0], nsp: rc.Namespace, room: roomJSON}
	}
	receivers := int64(len(got))
	s.receivers.Store(receivers)
	s.resume.Store((window - 1) * receivers)
	tr.window = window * receivers
	ph, err := runPhases(ctx, rc.ServerPIDs, warmup, duration, func() {
		s.measureFrom.Store(int64(time.Since(s.base)))
	}, func() uint64 { return s.delivered.Load() }, tr.loop)
	if err != nil {
		return r, err
	}
	sentMeasured := ph.sentEnd - ph.sentStart

	// Drain: wait for everything sent to arrive, or give up after drain.
	want := uint64(s.sent.Load()) * uint64(receivers)
	deadline := time.Now().Add(drain)
	for s.delivered.Load() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}

	r.Elapsed = ph.elapsed
	r.Broadcasts = sentMeasured
	r.Delivered = ph.countEnd - ph.countStart
	secs := ph.elapsed.Seconds()
	r.BroadcastRate = float64(r.Broadcasts) / secs
	r.DeliveredRate = float64(r.Delivered) / secs
	r.Latency = s.hist.Summary()
	if d := s.delivered.Load(); d < want {
		r.Lost = want - d
	}
	r.OutOfOrder = s.outOfOrder.Load()
	r.Malformed = s.malformed.Load()
	r.Dropped = int(f.dropped.Load())
	r.FirstError = f.errString()
	ph.fill(&r.Usage, r.Delivered, len(rc.ServerPIDs) > 0)
	return r, nil
}

// errTriggerLost reports that the server closed the trigger's connection.
var errTriggerLost = errors.New("loadtest: trigger client disconnected")

// trigger paces the broadcasts and hands them to out.
type trigger struct {
	run    *broadcastRun
	out    triggerOut
	nsp    string
	room   []byte
	pl     payload
	window int64 // messages
	rate   int
}

// triggerOut sends one broadcast whose payload append writes.
type triggerOut interface {
	send(payload func([]byte) []byte) error
	done() <-chan struct{} // closed when the sender is lost
}

// clientTrigger broadcasts through a Socket.IO client's "broadcast" event.
type clientTrigger struct {
	c    *client
	nsp  string
	room []byte
}

func (t clientTrigger) done() <-chan struct{} { return t.c.done }

func (t clientTrigger) send(payload func([]byte) []byte) error {
	return t.c.emit(false, func(b []byte, _ int64) []byte {
		b = appendEventHead(b, t.nsp, -1, "broadcast")
		b = append(b, ',')
		b = append(b, t.room...)
		b = append(b, ',')
		b = payload(b)
		return append(b, ']')
	})
}

// loop sends broadcasts until end (or ctx ends) and returns how many it sent
// in all so far.
func (t *trigger) loop(ctx context.Context, end time.Time) (uint64, error) {
	s := t.run
	var period time.Duration
	if t.rate > 0 {
		period = time.Second / time.Duration(t.rate)
	}
	wait := time.NewTimer(time.Hour)
	defer wait.Stop()
	start := time.Now()
	for k := int64(0); ; {
		now := time.Now()
		if !now.Before(end) {
			return uint64(s.sent.Load()), nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		select {
		case <-t.out.done():
			return 0, errTriggerLost
		default:
		}
		if period > 0 {
			if due := start.Add(time.Duration(k) * period); now.Before(due) {
				wait.Reset(min(due.Sub(now), end.Sub(now)))
				select {
				case <-wait.C:
				case <-ctx.Done():
				case <-t.out.done():
				}
				continue
			}
		}
		if s.inFlight() >= t.window {
			s.waiting.Store(true)
			if s.inFlight() >= t.window {
				wait.Reset(min(5*time.Millisecond, end.Sub(now)))
				select {
				case <-s.kick:
				case <-wait.C:
				case <-ctx.Done():
				case <-t.out.done():
				}
			}
			s.waiting.Store(false)
			continue
		}
		if err := t.send(); err != nil {
			// A server that dropped the trigger may fail this write before the
			// read side notices: either way the trigger is lost.
			return 0, fmt.Errorf("%w: %w", errTriggerLost, err)
		}
		k++
	}
}

// send emits one broadcast stamped with the current time.
func (t *trigger) send() error {
	s := t.run
	seq := s.sent.Load()
	// Count it as sent first, so in-flight never goes negative when the
	// first deliveries race the write's return.
	s.sent.Add(1)
	return t.out.send(func(b []byte) []byte {
		return t.pl.append(b, int64(time.Since(s.base)), seq)
	})
}
