package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/presence"
)

// item is a socket taken from the dirty list, with the state to write.
type item struct {
	s      *sock
	target sockState
}

// chunk is one EVALSHA of a flush.
type chunk struct {
	args  []any
	items []item
	ops   int
	seq   uint64 // the node's write sequence it was sent with
}

// take pops up to maxSocksPerFlush dirty sockets, and fewer when they add
// up to more than maxOpsPerFlush operations (at least one). complete
// reports whether that emptied the list, seq the last change included then.
func (t *Tracker) take() (items []item, complete bool, seq uint64) {
	t.mu.Lock()
	ops := 0
	for _, s := range t.dirty {
		if len(items) == maxSocksPerFlush || (len(items) > 0 && ops >= maxOpsPerFlush) {
			break
		}
		s.dirty = false
		target := s.want.clone()
		items = append(items, item{s: s, target: target})
		ops += 2 + len(target.rooms) + len(s.have.rooms) // at most (s.have is the loop's)
	}
	n := len(items)
	rest := copy(t.dirty, t.dirty[n:])
	clear(t.dirty[rest:])
	t.dirty = t.dirty[:rest]
	seq = t.seq
	t.mu.Unlock()
	t.cfg.Metrics.Pending(rest)
	return items, rest == 0, seq
}

// opWriter appends operations to the chunks of a flush.
type opWriter struct {
	head   []any // prefix, epoch, node, incarnation: sequence goes at [4]
	chunks []*chunk
	cur    *chunk
	n      int
}

func (w *opWriter) op(args ...any) {
	w.cur.args = append(w.cur.args, args...)
	w.cur.ops++
	w.n++
}

// begin starts an item, in a new chunk when the current one is full: an
// item is never split, so a chunk applies whole items.
func (w *opWriter) begin(it item) {
	if w.cur == nil || w.cur.ops >= maxOpsPerScript {
		w.cur = &chunk{args: append(append(make([]any, 0, 64), w.head...), "")}
		w.chunks = append(w.chunks, w.cur)
	}
	w.cur.items = append(w.cur.items, it)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// diff appends the operations that take Redis from s.have (after writing it
// again silently when s.restore) to target.
func (w *opWriter) diff(s *sock, target sockState) {
	base := s.have
	if s.restore && base.connected {
		w.op("C", s.ns, s.sid, base.user, base.mj, "1")
		for r := range base.rooms {
			w.op("J", s.ns, s.sid, r, "1")
		}
	}
	if base.connected && (!target.connected || base.user != target.user) {
		w.op("D", s.ns, s.sid)
		base = sockState{}
	}
	if !target.connected {
		return
	}
	switch {
	case !base.connected:
		w.op("C", s.ns, s.sid, target.user, target.mj, "0")
	case base.mj != target.mj:
		w.op("U", s.ns, s.sid, target.mj)
	}
	for r := range target.rooms {
		if _, ok := base.rooms[r]; !ok {
			w.op("J", s.ns, s.sid, r, "0")
		}
	}
	for r := range base.rooms {
		if _, ok := target.rooms[r]; !ok {
			w.op("L", s.ns, s.sid, r)
		}
	}
}

// flush writes up to maxSocksPerFlush dirty sockets in one pipeline of
// write scripts. more reports that dirty sockets remain.
func (t *Tracker) flush(ctx context.Context) (more bool, err error) {
	items, complete, seq := t.take()
	w := &opWriter{head: []any{t.cfg.KeyPrefix, t.epoch, t.cfg.NodeID, t.inc}}
	for _, it := range items {
		w.begin(it)
		w.diff(it.s, it.target)
	}
	if w.n == 0 {
		t.apply(items)
		if complete {
			t.markFlushed(seq)
		}
		return !complete, nil
	}
	start := time.Now()
	ctx, cancel := t.bounded(ctx)
	defer cancel()
	cmds, err := t.exec(ctx, w.chunks)
	var applied []item
	var events []presence.Event
	var status string
	uncertain := false // a reply was lost: the script may have run
	done := 0          // chunks written
	for i := 0; err == nil && i < len(w.chunks); i++ {
		res, cerr := cmds[i].Slice()
		if cerr != nil {
			var rerr goredis.Error
			err, uncertain = cerr, !errors.As(cerr, &rerr)
			break
		}
		if st, _ := res[0].(string); st != "ok" {
			status = st
			break
		}
		t.wseq++
		applied = append(applied, w.chunks[i].items...)
		events = t.parseEvents(res[1:], events)
		done = i + 1
	}
	t.apply(applied)
	if uncertain {
		t.unresolved, t.unresolvedOwner = w.chunks[done:], t.owner()
	} else {
		for _, ch := range w.chunks[done:] {
			t.requeue(ch.items)
		}
	}
	t.cfg.Metrics.Flushed(w.n, time.Since(start), err)
	t.emit(events)
	switch {
	case status != "":
		return true, t.stale(status)
	case err != nil:
		return true, err
	case complete:
		t.markFlushed(seq)
	}
	return !complete, nil
}

// exec runs the chunks' write scripts in one pipeline, loading the script
// once if Redis does not know it.
func (t *Tracker) exec(ctx context.Context, chunks []*chunk) ([]*goredis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		seq := t.wseq
		pipe := t.c.Pipeline()
		cmds := make([]*goredis.Cmd, len(chunks))
		for i, ch := range chunks {
			ch.seq = seq + uint64(i)
			ch.args[4] = strconv.FormatUint(ch.seq, 10)
			cmds[i] = writeScript.EvalSha(ctx, pipe, nil, ch.args...)
		}
		_, _ = pipe.Exec(ctx) // errors are read from cmds, in order
		if attempt > 0 || !isNoScript(cmds[0].Err()) {
			return cmds, nil
		}
		if err := writeScript.Load(ctx, t.c).Err(); err != nil {
			return nil, err
		}
	}
}

func isNoScript(err error) bool {
	return err != nil && (errors.Is(err, goredis.ErrNoScript) || goredis.HasErrorPrefix(err, "NOSCRIPT"))
}

// resolve settles the chunks of a flush whose replies were lost: the
// write scripts keep their replies, so the events of those that ran are
// delivered now (exactly once) and the others' sockets written again.
func (t *Tracker) resolve(ctx context.Context) error {
	if len(t.unresolved) == 0 {
		return nil
	}
	args := []any{t.cfg.KeyPrefix, t.unresolvedOwner}
	for _, ch := range t.unresolved {
		args = append(args, strconv.FormatUint(ch.seq, 10))
	}
	ctx, cancel := t.bounded(ctx)
	defer cancel()
	res, err := resultScript.Run(ctx, t.c, nil, args...).Slice()
	if err != nil {
		return fmt.Errorf("presence/redis: fetch lost replies: %w", err)
	}
	var applied []item
	var events []presence.Event
	ran := 0
	for i, r := range res {
		reply, _ := r.([]any)
		if st, _ := first(reply).(string); st != "ok" {
			break // did not run, nor did the later ones (sequence guard)
		}
		applied = append(applied, t.unresolved[i].items...)
		events = t.parseEvents(reply[1:], events)
		if t.registered && t.unresolvedOwner == t.owner() {
			t.wseq++
		}
		ran = i + 1
	}
	t.apply(applied)
	for _, ch := range t.unresolved[ran:] {
		t.requeue(ch.items)
	}
	if ran > 0 {
		t.cfg.Logger.Info("presence: recovered the replies of writes that ran", "node", t.cfg.NodeID, "scripts", ran)
	}
	t.unresolved = nil
	t.emit(events)
	return nil
}

func first(s []any) any {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

// owner is the current incarnation's owner string.
func (t *Tracker) owner() string { return t.cfg.NodeID + "@" + t.inc }

// apply records that items were written. Sockets gone for good are forgotten.
func (t *Tracker) apply(items []item) {
	if len(items) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, it := range items {
		s := it.s
		s.have, s.restore = it.target, false
		k := sockKey{s.ns, s.sid}
		if !s.have.connected && !s.want.connected && !s.dirty && t.socks[k] == s {
			delete(t.socks, k)
		}
	}
}

// requeue puts items back on the dirty list after a failed write.
func (t *Tracker) requeue(items []item) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, it := range items {
		if !it.s.dirty {
			t.touchLocked(it.s)
		}
	}
}

func (t *Tracker) touchLocked(s *sock) {
	s.dirty = true
	t.dirty = append(t.dirty, s)
}

// parseEvents appends the events of a script reply (6 fields each).
func (t *Tracker) parseEvents(res []any, evs []presence.Event) []presence.Event {
	for i := 0; i+5 < len(res); i += 6 {
		f := func(j int) string { s, _ := res[i+j].(string); return s }
		ev := presence.Event{Action: presence.Action(f(0)), NS: f(1), Room: f(2), SID: f(3), User: f(4)}
		var m struct {
			Node string          `json:"node"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(f(5)), &m); err != nil {
			t.cfg.Logger.Error("presence: bad member in Redis", "ns", ev.NS, "sid", ev.SID, "error", err)
		}
		ev.Node = m.Node
		if ev.SID != "" {
			ev.Data = normData(m.Data)
		}
		evs = append(evs, ev)
	}
	return evs
}

// emit hands events to OnEvent.
func (t *Tracker) emit(evs []presence.Event) {
	for _, ev := range evs {
		t.cfg.OnEvent(ev)
	}
}

// errStale means the loop found its view of Redis out of date and reset it;
// the step is to be run again.
var errStale = errors.New("presence/redis: state reset")

// errConflict means another process registered the node id: the node stops
// writing until the id comes free.
var errConflict = errors.New("presence/redis: node id taken over")

// stale handles a guard's status: the node's view of Redis is no longer
// true. It resets the view and returns errStale, or errConflict when the
// node must stop writing (its id was taken over).
func (t *Tracker) stale(status string) error {
	t.registered = false
	switch status {
	case "lost", "diverged":
		// Redis lost (all or some of) the node's state: write everything
		// again, silently for what was announced.
		t.cfg.Logger.Warn("presence: Redis lost this node's state; rebuilding it", "reason", status, "node", t.cfg.NodeID)
		t.silentOld = true // leftovers of the previous incarnation are written again silently
		t.markAll(true)
	case "reaped":
		// Taken for dead: survivors announced the leaves; announce it all again.
		t.cfg.Logger.Warn("presence: this node was taken for dead; registering again", "node", t.cfg.NodeID)
		t.silentOld = false
		t.markAll(false)
	case "replaced":
		t.cfg.Logger.Error("presence: another process registered this node id; no longer writing presence", "node", t.cfg.NodeID)
		t.mu.Lock()
		t.conflict = true
		close(t.flushCh) // wake Sync
		t.flushCh = make(chan struct{})
		t.mu.Unlock()
		return errConflict
	default:
		return fmt.Errorf("presence/redis: unexpected script status %q", status)
	}
	t.cfg.Metrics.Rebuilt(status)
	return errStale
}

// markAll marks every socket for writing again: restore (Redis lost what it
// had: write it again silently, then the changes) or announce (write the
// current state with events).
func (t *Tracker) markAll(restore bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	for _, s := range t.socks {
		if restore {
			s.restore = true
		} else {
			s.have, s.restore = sockState{}, false
		}
		if !s.dirty {
			t.touchLocked(s)
		}
	}
}
