package loadtest

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"
)

// ackRun is the state of one Ack run shared by the clients' read goroutines.
type ackRun struct {
	base time.Time
	nsp  string
	pl   payload

	measureFrom atomic.Int64 // record latency of emits sent at or after this
	stop        atomic.Bool  // no new emits once set
	acks        atomic.Uint64
	outstanding atomic.Int64
	malformed   atomic.Uint64
	writeErrs   atomic.Uint64
	hist        histogram
}

// onPacket runs on each client's read goroutine: an ack completes one emit,
// which is replaced by a new one until the run stops.
func (s *ackRun) onPacket(c *client, p packet) {
	if p.typ != sioAck {
		return
	}
	now := int64(time.Since(s.base))
	t, ok := findInt(p.data, keyT)
	if !ok {
		s.malformed.Add(1)
	} else if t >= s.measureFrom.Load() {
		s.hist.Record(time.Duration(now - t))
	}
	s.acks.Add(1)
	if s.stop.Load() {
		s.outstanding.Add(-1)
		return
	}
	if s.send(c) != nil {
		s.outstanding.Add(-1)
	}
}

// send emits one "echo" with ack, stamped with the current time.
func (s *ackRun) send(c *client) error {
	err := c.emit(true, func(b []byte, id int64) []byte {
		b = appendEventHead(b, s.nsp, id, "echo")
		b = append(b, ',')
		b = s.pl.append(b, int64(time.Since(s.base)), id)
		return append(b, ']')
	})
	if err != nil {
		s.writeErrs.Add(1)
	}
	return err
}

// Ack connects cfg.Clients clients; each keeps cfg.InFlight "echo" emits with
// ack outstanding, sending a new one as each ack arrives, for cfg.Warmup plus
// cfg.Duration. Acks per second, ack latency (from a send timestamp echoed
// back in the argument) and server CPU cover the measured phase; acks still
// missing cfg.Drain after the end count as lost.
func Ack(ctx context.Context, cfg AckConfig) (AckReport, error) {
	rc, err := cfg.Config.resolve()
	if err != nil {
		return AckReport{}, err
	}
	inFlight := orDefault(cfg.InFlight, defaultInFlight)
	warmup := warmupOr(cfg.Warmup, defaultWarmup)
	duration := orDefault(cfg.Duration, defaultDuration)
	drain := orDefault(cfg.Drain, defaultDrain)
	if inFlight < 0 {
		return AckReport{}, errors.New("loadtest: bad config: negative InFlight")
	}
	if err := checkOpenFiles(rc.Clients); err != nil {
		return AckReport{}, err
	}
	s := &ackRun{base: time.Now(), nsp: rc.Namespace, pl: newPayload(orDefault(cfg.PayloadSize, defaultPayload))}
	s.measureFrom.Store(math.MaxInt64)

	f := newFleet(rc, readBufferSize)
	defer f.close()
	cancelWatch := f.closeOnDone(ctx)
	defer cancelWatch()

	r := AckReport{Clients: rc.Clients, InFlight: inFlight}
	got, err := f.connect(ctx, 0, rc.Clients, nil, s)
	r.Connected, r.Failed = len(got), int(f.failed.Load())
	if err != nil {
		return r, err
	}
	if len(got) == 0 {
		return r, errors.New("loadtest: no client connected: " + f.errString())
	}
	for range inFlight {
		for _, c := range got {
			s.outstanding.Add(1)
			if s.send(c) != nil {
				s.outstanding.Add(-1)
			}
		}
	}
	sleep := func(ctx context.Context, end time.Time) (uint64, error) {
		return 0, sleepCtx(ctx, time.Until(end))
	}
	ph, err := runPhases(ctx, rc.ServerPIDs, warmup, duration, func() {
		s.measureFrom.Store(int64(time.Since(s.base)))
	}, s.acks.Load, sleep)
	s.stop.Store(true)
	if err != nil {
		return r, err
	}
	deadline := time.Now().Add(drain)
	for s.outstanding.Load() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}

	r.Elapsed = ph.elapsed
	r.Acks = ph.countEnd - ph.countStart
	r.AckRate = float64(r.Acks) / ph.elapsed.Seconds()
	r.Latency = s.hist.Summary()
	if n := s.outstanding.Load(); n > 0 {
		r.Lost = uint64(n)
	}
	r.Malformed = s.malformed.Load()
	r.WriteErrors = s.writeErrs.Load()
	r.Dropped = int(f.dropped.Load())
	r.FirstError = f.errString()
	ph.fill(&r.Usage, r.Acks, len(rc.ServerPIDs) > 0)
	return r, nil
}
