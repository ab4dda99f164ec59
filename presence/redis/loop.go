package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/switchboard-rt/switchboard/presence"
)

// loopState is the node's view of Redis, owned by the loop goroutine.
type loopState struct {
	registered bool
	epoch      string // Redis's epoch when the node registered
	inc        string // this incarnation
	wseq       uint64 // write scripts applied in this incarnation
	silentOld  bool   // register: remove the previous incarnation's leftovers silently
	prevOwner  string // previous incarnation of this id, to reap before the first flush
	reapQueue  []string
	lastBeat   time.Time // last lease refresh (or conflict probe)
	healthy    time.Time // since when Redis has answered; zero while it does not
	failing    bool
	retryAt    time.Time
	backoff    time.Duration
	rseq       uint64 // reap calls made (their replies are kept under reaper token and number)
	// unresolved are the chunks of a flush whose replies were lost, sent by
	// unresolvedOwner; step settles them first.
	unresolved      []*chunk
	unresolvedOwner string
}

// run is the tracker's goroutine: it registers the node, writes the dirty
// sockets, heartbeats, reaps dead nodes and, on Close, deregisters.
func (t *Tracker) run() {
	defer close(t.done)
	hb := time.NewTicker(t.cfg.Heartbeat)
	defer hb.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-t.life.Done():
			return
		case req := <-t.closeCh:
			req.done <- t.shutdown(req.ctx)
			return
		case <-hb.C: // step heartbeats when one is due
		case <-t.kick:
		case <-retry.C:
		}
		if t.failing && time.Now().Before(t.retryAt) {
			continue // the retry timer brings the work back
		}
		err := t.work()
		switch {
		case err == nil:
			if t.failing {
				t.cfg.Logger.Info("presence: Redis reachable again", "node", t.cfg.NodeID)
			}
			t.failing, t.backoff = false, 0
		case t.life.Err() != nil:
			return
		default:
			t.setErr(err)
			if !t.failing {
				t.cfg.Logger.Warn("presence: cannot write to Redis; changes are kept and written when it answers",
					"node", t.cfg.NodeID, "error", err)
			}
			t.failing, t.healthy = true, time.Time{}
			t.backoff = min(max(2*t.backoff, minRetry), t.cfg.Heartbeat/2)
			t.retryAt = time.Now().Add(t.backoff)
			retry.Reset(t.backoff)
		}
	}
}

// opTimeout bounds one Redis call of the loop.
func (t *Tracker) opTimeout() time.Duration { return max(t.cfg.TTL/3, time.Second) }

// bounded returns ctx limited to one Redis call's time. Each call has its
// own deadline: a step that makes many calls must not cut the last one short
// (a script whose reply is abandoned may still run, and its events be lost).
func (t *Tracker) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.opTimeout())
}

// work runs one step, again when the step found its view of Redis stale.
func (t *Tracker) work() error {
	ctx := t.life
	for range 4 {
		err := t.step(ctx)
		if errors.Is(err, errConflict) {
			return nil // probe on the next heartbeats
		}
		if !errors.Is(err, errStale) {
			return err
		}
	}
	return errors.New("presence/redis: Redis state kept changing")
}

// step registers when needed, heartbeats when due, reaps a bounded amount
// and flushes a bounded amount; it signals itself when work remains.
func (t *Tracker) step(ctx context.Context) error {
	if err := t.resolve(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	conflict := t.conflict
	t.mu.Unlock()
	if conflict {
		return t.probe(ctx)
	}
	if !t.registered {
		if err := t.register(ctx); err != nil {
			return err
		}
	}
	if t.healthy.IsZero() {
		t.healthy = time.Now()
	}
	if t.beatDue() {
		start := time.Now()
		if err := t.heartbeat(ctx); err != nil {
			return err
		}
		t.lastBeat = start
	}
	if t.prevOwner != "" {
		// Remove the previous incarnation's members before writing
		// anything: this incarnation's readers never see them.
		for n := 0; n < reapChunksPerRun && t.prevOwner != ""; n++ {
			done, err := t.reapOne(ctx, t.prevOwner)
			if err != nil {
				return err
			}
			if done {
				t.prevOwner = ""
			}
		}
		if t.prevOwner != "" {
			t.signal()
			return nil
		}
	}
	for n := 0; len(t.reapQueue) > 0 && n < reapChunksPerRun; n++ {
		done, err := t.reapOne(ctx, t.reapQueue[0])
		if err != nil {
			return err
		}
		if done {
			t.reapQueue = t.reapQueue[1:]
		}
	}
	more, err := t.flush(ctx)
	if err != nil {
		return err
	}
	if more || len(t.reapQueue) > 0 {
		t.signal()
	}
	return nil
}

// beatDue reports whether a heartbeat is due (with a tenth of slack, so
// that the ticker's wake-ups are not missed by a hair).
func (t *Tracker) beatDue() bool { return time.Since(t.lastBeat) >= t.cfg.Heartbeat-t.cfg.Heartbeat/10 }

func (t *Tracker) ttlMillis() string { return strconv.FormatInt(t.cfg.TTL.Milliseconds(), 10) }

// register starts a new incarnation of the node.
func (t *Tracker) register(ctx context.Context) error {
	inc, start := token(), time.Now()
	ctx, cancel := t.bounded(ctx)
	defer cancel()
	res, err := registerScript.Run(ctx, t.c, nil,
		t.cfg.KeyPrefix, token(), t.cfg.NodeID, inc, t.ttlMillis(), flag(t.silentOld)).StringSlice()
	if err != nil {
		return fmt.Errorf("presence/redis: register: %w", err)
	}
	t.epoch, t.inc, t.wseq, t.registered, t.silentOld = res[0], inc, 0, true, false
	if res[1] != "" {
		t.prevOwner = res[1]
	}
	t.lastBeat = start // the registration is a heartbeat
	return nil
}

// guardArgs are ARGV[1..5] of the guarded scripts.
func (t *Tracker) guardArgs(extra ...any) []any {
	return append([]any{t.cfg.KeyPrefix, t.epoch, t.cfg.NodeID, t.inc, strconv.FormatUint(t.wseq, 10)}, extra...)
}

// heartbeat refreshes the lease, claims expired nodes (once Redis has
// answered for two heartbeats: after an outage every live node gets the
// time to refresh its lease first) and learns of incarnations to reap.
func (t *Tracker) heartbeat(ctx context.Context) error {
	claim := !t.healthy.IsZero() && time.Since(t.healthy) >= min(2*t.cfg.Heartbeat, t.cfg.TTL)
	ctx, cancel := t.bounded(ctx)
	defer cancel()
	res, err := heartbeatScript.Run(ctx, t.c, nil, t.guardArgs(t.ttlMillis(), flag(claim))...).Slice()
	if err != nil {
		return fmt.Errorf("presence/redis: heartbeat: %w", err)
	}
	if st, _ := res[0].(string); st != "ok" {
		return t.stale(st)
	}
	if n, _ := res[1].(int64); n > 0 {
		t.cfg.Logger.Warn("presence: claimed dead nodes for cleanup", "node", t.cfg.NodeID, "dead", n)
	}
	for _, o := range res[2:] {
		owner, _ := o.(string)
		if owner != "" && !contains(t.reapQueue, owner) {
			t.reapQueue = append(t.reapQueue, owner)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// probe runs while another process holds the node id: on each heartbeat it
// checks whether the id came free (the other was reaped) or Redis lost its
// state, and then registers again.
func (t *Tracker) probe(ctx context.Context) error {
	if !t.beatDue() {
		return nil
	}
	t.lastBeat = time.Now()
	ctx, cancel := t.bounded(ctx)
	defer cancel()
	res, err := heartbeatScript.Run(ctx, t.c, nil, t.guardArgs(t.ttlMillis(), "0")...).Slice()
	if err != nil {
		return err
	}
	st, _ := res[0].(string)
	if st == "replaced" || st == "ok" {
		return nil
	}
	t.cfg.Logger.Warn("presence: node id free again; registering", "node", t.cfg.NodeID)
	t.mu.Lock()
	t.conflict = false
	t.mu.Unlock()
	t.silentOld = false
	t.markAll(false)
	t.signal()
	return nil
}

// reapOne removes a chunk of a dead incarnation's sockets, emitting the
// events. done reports that none remain.
func (t *Tracker) reapOne(ctx context.Context, owner string) (done bool, err error) {
	ctx, cancel := t.bounded(ctx)
	defer cancel()
	res, err := reapScript.Run(ctx, t.c, nil,
		t.cfg.KeyPrefix, owner, reapChunk, t.reaper, strconv.FormatUint(t.rseq, 10)).Slice()
	if err != nil {
		return false, fmt.Errorf("presence/redis: reap %s: %w", owner, err)
	}
	t.rseq++ // a retry after an error asks again for the same call's reply
	if len(res) < 3 {
		return false, fmt.Errorf("presence/redis: reap %s: short reply %v", owner, res)
	}
	evs := t.parseEvents(res[3:], nil)
	if n, _ := res[1].(int64); n > 0 {
		t.cfg.Metrics.Reaped(int(n))
	}
	t.emit(evs)
	st, _ := res[0].(string)
	of, _ := res[2].(string)
	return st == "done" && of == owner, nil // of != owner: the kept reply of an earlier call
}

// shutdown is Close's work in the loop: end the lease and remove the node's
// sockets, retrying until ctx ends.
func (t *Tracker) shutdown(ctx context.Context) error {
	t.mu.Lock()
	conflict := t.conflict
	t.mu.Unlock()
	if !t.registered || conflict {
		return nil // nothing of this incarnation is in Redis, or it is not ours
	}
	owner := t.owner()
	deregistered := false
	for backoff := minRetry; ; backoff = min(2*backoff, time.Second) {
		err := func() error {
			if err := t.resolve(ctx); err != nil {
				return err
			}
			if !deregistered {
				cctx, cancel := t.bounded(ctx)
				res, err := deregisterScript.Run(cctx, t.c, nil, t.cfg.KeyPrefix, t.epoch, t.cfg.NodeID, t.inc).Slice()
				cancel()
				if err != nil {
					return err
				}
				if st, _ := res[0].(string); st == "lost" {
					return errStale // Redis lost everything: nothing left to remove
				}
				deregistered = true
			}
			for {
				done, err := t.reapOne(ctx, owner)
				if err != nil || done {
					return err
				}
			}
		}()
		switch {
		case err == nil || errors.Is(err, errStale):
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("%w: %w (%w)", presence.ErrUnavailable, err, ctx.Err())
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("%w: %w (%w)", presence.ErrUnavailable, err, ctx.Err())
		}
	}
}
