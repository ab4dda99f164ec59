package edge

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/edge/engine"
)

// recovery implements connection state recovery on one node: sessions of
// recently disconnected sockets, keyed by their private id (pid), and a log
// of the broadcasts of the last MaxDisconnection, from which a restored
// socket gets what it missed.
type recovery struct {
	ttl time.Duration

	mu       sync.Mutex
	seq      uint64
	prefix   string
	sessions map[string]*savedSession
	logs     []logEntry // ordered by seq
	stopCh   chan struct{}
	stopOnce sync.Once
}

type savedSession struct {
	sid     string
	pid     string
	nsp     string
	rooms   []string
	data    any
	user    string
	expires time.Time
}

type logEntry struct {
	seq    uint64
	offset string
	nsp    string
	opts   broadcastOpts
	frames []engine.Frame
	at     time.Time
}

func newRecovery(ttl time.Duration) *recovery {
	r := &recovery{
		ttl:      ttl,
		prefix:   strconv.FormatInt(time.Now().UnixMilli(), 36),
		sessions: make(map[string]*savedSession),
		stopCh:   make(chan struct{}),
	}
	go r.sweepLoop()
	return r
}

func (r *recovery) stop() { r.stopOnce.Do(func() { close(r.stopCh) }) }

func (r *recovery) sweepLoop() {
	t := time.NewTicker(r.ttl/4 + time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.stopCh:
			return
		case now := <-t.C:
			r.sweep(now)
		}
	}
}

func (r *recovery) sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for pid, s := range r.sessions {
		if now.After(s.expires) {
			delete(r.sessions, pid)
		}
	}
	cut := 0
	for cut < len(r.logs) && now.Sub(r.logs[cut].at) > r.ttl {
		cut++
	}
	if cut > 0 {
		r.logs = slices.Delete(r.logs, 0, cut)
	}
}

// nextOffset returns a new offset; offsets sort in log order.
func (r *recovery) nextOffset() string {
	r.mu.Lock()
	r.seq++
	s := r.prefix + "-" + strconv.FormatUint(r.seq, 36)
	r.mu.Unlock()
	return s
}

func (r *recovery) log(nsp, offset string, o broadcastOpts, f []engine.Frame) {
	seq := r.parseOffset(offset)
	r.mu.Lock()
	r.logs = append(r.logs, logEntry{seq: seq, offset: offset, nsp: nsp, opts: o, frames: f, at: time.Now()})
	r.mu.Unlock()
}

func (r *recovery) parseOffset(offset string) uint64 {
	rest, ok := cutPrefix(offset, r.prefix+"-")
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(rest, 36, 64)
	if err != nil {
		return 0
	}
	return n
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

// persist keeps a disconnected socket's state for restoration.
func (r *recovery) persist(s *Socket, rooms []string, data any, user string) {
	if s.pid == "" {
		return
	}
	r.mu.Lock()
	r.sessions[s.pid] = &savedSession{
		sid: s.id, pid: s.pid, nsp: s.nsp.name, rooms: rooms, data: data, user: user,
		expires: time.Now().Add(r.ttl),
	}
	r.mu.Unlock()
}

// restore returns the socket restored from the pid and offset in auth, or
// nil when there is nothing to restore (unknown or expired pid, or an
// offset no longer in the log).
func (r *recovery) restore(c *conn, nsp *Namespace, auth []byte) *Socket {
	var req struct {
		PID    string `json:"pid"`
		Offset string `json:"offset"`
	}
	if json.Unmarshal(auth, &req) != nil || req.PID == "" || req.Offset == "" {
		return nil
	}
	seq := r.parseOffset(req.Offset)
	r.mu.Lock()
	saved := r.sessions[req.PID]
	if saved == nil || saved.nsp != nsp.name || time.Now().After(saved.expires) || seq == 0 || !r.hasOffsetLocked(seq) {
		r.mu.Unlock()
		return nil
	}
	delete(r.sessions, req.PID)
	r.mu.Unlock()

	s := &Socket{id: saved.sid, pid: saved.pid, nsp: nsp, conn: c, auth: auth, rooms: saved.rooms, data: saved.data, user: saved.user, recovered: true}
	s.replayFrom = seq
	return s
}

// replayLocked queues to a restored socket the logged broadcasts after its
// offset that would have reached it, in order. The caller holds the
// namespace's write lock, so no broadcast is logged meanwhile.
func (r *recovery) replayLocked(s *Socket, rooms []string) {
	r.mu.Lock()
	i, _ := slices.BinarySearchFunc(r.logs, s.replayFrom+1, func(e logEntry, t uint64) int { return cmpU64(e.seq, t) })
	var missed []logEntry
	for _, e := range r.logs[i:] {
		if e.nsp == s.nsp.name && reaches(e.opts, rooms) {
			missed = append(missed, e)
		}
	}
	r.mu.Unlock()
	for _, e := range missed {
		_ = s.conn.sess.Send(e.frames...)
	}
}

// hasOffsetLocked reports whether seq is still in the log, or is the newest
// offset ever issued (nothing was logged after it and it may have aged out).
func (r *recovery) hasOffsetLocked(seq uint64) bool {
	if seq == r.seq {
		return true
	}
	_, found := slices.BinarySearchFunc(r.logs, seq, func(e logEntry, t uint64) int { return cmpU64(e.seq, t) })
	return found
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// reaches reports whether a broadcast with o would have reached a socket in rooms.
func reaches(o broadcastOpts, rooms []string) bool {
	for _, e := range o.except {
		if slices.Contains(rooms, e) {
			return false
		}
	}
	if len(o.rooms) == 0 {
		return true
	}
	for _, r := range o.rooms {
		if slices.Contains(rooms, r) {
			return true
		}
	}
	return false
}
