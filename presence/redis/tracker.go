package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/presence"
)

var _ presence.Tracker = (*Tracker)(nil)

// Tracker is one node's presence in Redis. Its write methods record the
// change in the node's local state, which is the truth about the node's own
// sockets, and return; the tracker's goroutine writes the changes in batches
// (see doc.go). It is safe for concurrent use.
type Tracker struct {
	cfg   Config
	c     goredis.UniversalClient
	owned bool
	k     keys
	rd    *Reader
	// reaper names this process in reap calls (their replies are kept).
	reaper string

	mu       sync.Mutex
	socks    map[sockKey]*sock
	dirty    []*sock       // sockets whose want differs from what was written
	seq      uint64        // number of local changes
	flushed  uint64        // changes up to this one are written
	flushCh  chan struct{} // closed and replaced when flushed moves
	closed   bool
	conflict bool  // another process took the node id over
	lastErr  error // last failed write, nil once one succeeds

	kick    chan struct{} // cap 1: there is work for the loop
	closeCh chan closeReq
	life    context.Context // the loop's lifetime; canceled by Abandon
	cancel  context.CancelFunc
	done    chan struct{} // closed when the loop returns

	loopState // owned by the loop goroutine
}

type sockKey struct{ ns, sid string }

// sock is one of the node's sockets.
type sock struct {
	ns, sid string
	want    sockState // guarded by Tracker.mu: the truth
	dirty   bool      // guarded by Tracker.mu: in Tracker.dirty

	// Owned by the loop goroutine.
	have    sockState // what Redis holds (and events announced)
	restore bool      // Redis lost have: write it again silently first
}

type sockState struct {
	connected bool
	user      string
	mj        string // member JSON
	rooms     map[string]struct{}
}

func (st sockState) clone() sockState {
	st.rooms = maps.Clone(st.rooms)
	return st
}

type closeReq struct {
	ctx  context.Context
	done chan error
}

// New starts a tracker for node cfg.NodeID. It does not wait for Redis:
// the node registers (removing the members of a previous incarnation of the
// same id) as soon as Redis answers; Sync waits for that.
func New(cfg Config) (*Tracker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c, owned, err := cfg.client()
	if err != nil {
		return nil, err
	}
	t := &Tracker{
		cfg: cfg, c: c, owned: owned, k: keys{cfg.KeyPrefix},
		rd:      NewReader(c, cfg.KeyPrefix),
		reaper:  cfg.NodeID + "@" + token(),
		socks:   make(map[sockKey]*sock),
		seq:     1, // the registration
		flushCh: make(chan struct{}),
		kick:    make(chan struct{}, 1),
		closeCh: make(chan closeReq),
		done:    make(chan struct{}),
	}
	t.life, t.cancel = context.WithCancel(context.Background())
	go t.run()
	return t, nil
}

// signal tells the loop there is work, without waiting.
func (t *Tracker) signal() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// touch records a change of s. t.mu held.
func (t *Tracker) touch(s *sock) {
	t.seq++
	if !s.dirty {
		s.dirty = true
		t.dirty = append(t.dirty, s)
	}
}

func (t *Tracker) memberJSON(sid, user string, data json.RawMessage) (string, error) {
	b, err := json.Marshal(presence.Member{SID: sid, Node: t.cfg.NodeID, Data: data, User: user})
	if err != nil {
		return "", fmt.Errorf("%w: socket %q: %w", presence.ErrInvalid, sid, err)
	}
	return string(b), nil
}

// Connect makes m a member of namespace ns; see presence.Tracker. It does
// not block.
func (t *Tracker) Connect(ns string, m presence.Member) error {
	if err := presence.CheckNames(ns, m.SID); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	mj, err := t.memberJSON(m.SID, m.User, normData(m.Data))
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return presence.ErrClosed
	}
	k := sockKey{ns, m.SID}
	s := t.socks[k]
	if s == nil {
		s = &sock{ns: ns, sid: m.SID}
		t.socks[k] = s
	}
	if !s.want.connected {
		s.want.rooms = make(map[string]struct{})
	}
	s.want.connected, s.want.user, s.want.mj = true, m.User, mj
	t.touch(s)
	t.signal()
	return nil
}

// connected returns the node's connected socket sid of ns. t.mu held.
func (t *Tracker) connected(ns, sid string) (*sock, error) {
	if t.closed {
		return nil, presence.ErrClosed
	}
	s := t.socks[sockKey{ns, sid}]
	if s == nil || !s.want.connected {
		return nil, fmt.Errorf("%w: %q in %q", presence.ErrUnknownSocket, sid, ns)
	}
	return s, nil
}

// Join puts a connected socket in rooms; see presence.Tracker. It does not
// block.
func (t *Tracker) Join(ns, sid string, rooms ...string) error {
	return t.update(ns, sid, rooms, func(want map[string]struct{}, r string) { want[r] = struct{}{} })
}

// Leave takes a connected socket out of rooms; see presence.Tracker. It
// does not block.
func (t *Tracker) Leave(ns, sid string, rooms ...string) error {
	return t.update(ns, sid, rooms, func(want map[string]struct{}, r string) { delete(want, r) })
}

// update applies op to the wanted rooms of a connected socket for each of
// rooms, for the writer to carry to Redis.
func (t *Tracker) update(ns, sid string, rooms []string, op func(want map[string]struct{}, room string)) error {
	if err := presence.CheckNames(ns, sid, rooms...); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.connected(ns, sid)
	if err != nil {
		return err
	}
	for _, r := range rooms {
		op(s.want.rooms, r)
	}
	t.touch(s)
	t.signal()
	return nil
}

// SetData replaces a connected socket's data; see presence.Tracker. It does
// not block.
func (t *Tracker) SetData(ns, sid string, data json.RawMessage) error {
	if err := presence.CheckNames(ns, sid); err != nil {
		return err
	}
	if err := (presence.Member{SID: sid, Data: data}).Validate(); err != nil {
		return err
	}
	data = normData(data)
	for {
		t.mu.Lock()
		s, err := t.connected(ns, sid)
		var user string
		if s != nil {
			user = s.want.user
		}
		t.mu.Unlock()
		if err != nil {
			return err
		}
		mj, err := t.memberJSON(sid, user, data) // outside the lock: data may be large
		if err != nil {
			return err
		}
		t.mu.Lock()
		if s2, _ := t.connected(ns, sid); s2 == s && s.want.user == user {
			s.want.mj = mj
			t.touch(s)
			t.signal()
			t.mu.Unlock()
			return nil
		}
		t.mu.Unlock() // reconnected meanwhile: again
	}
}

// Disconnect removes a socket from its namespace and rooms; see
// presence.Tracker. It does not block.
func (t *Tracker) Disconnect(ns, sid string) error {
	if err := presence.CheckNames(ns, sid); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return presence.ErrClosed
	}
	s := t.socks[sockKey{ns, sid}]
	if s == nil || !s.want.connected {
		return nil
	}
	s.want = sockState{}
	t.touch(s)
	t.signal()
	return nil
}

// Counts reads from Redis; see presence.Reader.
func (t *Tracker) Counts(ctx context.Context, ns, room string) (presence.Counts, error) {
	if t.isClosed() {
		return presence.Counts{}, presence.ErrClosed
	}
	return t.rd.Counts(ctx, ns, room)
}

// Query reads from Redis; see presence.Reader.
func (t *Tracker) Query(ctx context.Context, q presence.Query) (presence.Page, error) {
	if t.isClosed() {
		return presence.Page{}, presence.ErrClosed
	}
	return t.rd.Query(ctx, q)
}

// SocketRooms reads from Redis; see presence.Reader.
func (t *Tracker) SocketRooms(ctx context.Context, ns, sid string) ([]string, error) {
	if t.isClosed() {
		return nil, presence.ErrClosed
	}
	return t.rd.SocketRooms(ctx, ns, sid)
}

func (t *Tracker) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Sync waits until the changes made before the call are written to Redis
// and their events handed to OnEvent. When that has not happened by the end
// of ctx (Redis unreachable or slow) it returns an error wrapping
// presence.ErrUnavailable and ctx.Err().
func (t *Tracker) Sync(ctx context.Context) error {
	t.mu.Lock()
	target := t.seq
	t.mu.Unlock()
	t.signal()
	for {
		t.mu.Lock()
		done, ch, conflict, closed, lastErr := t.flushed >= target, t.flushCh, t.conflict, t.closed, t.lastErr
		t.mu.Unlock()
		switch {
		case done:
			return nil
		case conflict:
			return presence.ErrNodeIDConflict
		case closed:
			return presence.ErrClosed
		}
		select {
		case <-ch:
		case <-t.done:
			return presence.ErrClosed
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("%w: %w (%w)", presence.ErrUnavailable, lastErr, ctx.Err())
			}
			return fmt.Errorf("%w: not written yet (%w)", presence.ErrUnavailable, ctx.Err())
		}
	}
}

// Close removes the node's members from Redis at once, emitting their leave
// events, and stops the tracker. When Redis cannot be reached before ctx
// ends, it stops anyway and returns an error wrapping
// presence.ErrUnavailable: the members then go when the lease expires.
func (t *Tracker) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return presence.ErrClosed
	}
	t.closed = true
	t.mu.Unlock()
	req := closeReq{ctx: ctx, done: make(chan error, 1)}
	var err error
	select {
	case t.closeCh <- req:
		select {
		case err = <-req.done:
		case <-ctx.Done():
			err = fmt.Errorf("%w: %w", presence.ErrUnavailable, ctx.Err())
		}
	case <-t.done:
	}
	t.cancel()
	<-t.done
	if t.owned {
		_ = t.c.Close()
	}
	return err
}

// Abandon stops the tracker at once without touching Redis, as a crash
// would: its members stay until its lease expires and a surviving node
// removes them. For tests and fault injection.
func (t *Tracker) Abandon() {
	t.mu.Lock()
	was := t.closed
	t.closed = true
	t.mu.Unlock()
	t.cancel()
	<-t.done
	if !was && t.owned {
		_ = t.c.Close()
	}
}

// normData returns a private copy of data, nil for JSON null.
func normData(d json.RawMessage) json.RawMessage {
	d = bytes.TrimSpace(d)
	if len(d) == 0 || string(d) == "null" {
		return nil
	}
	return append(json.RawMessage(nil), d...)
}

// markFlushed records that the changes up to seq are written.
func (t *Tracker) markFlushed(seq uint64) {
	t.mu.Lock()
	if seq > t.flushed {
		t.flushed = seq
	}
	t.lastErr = nil
	close(t.flushCh)
	t.flushCh = make(chan struct{})
	t.mu.Unlock()
}

// setErr records the last write failure for Sync.
func (t *Tracker) setErr(err error) {
	t.mu.Lock()
	t.lastErr = err
	t.mu.Unlock()
}
