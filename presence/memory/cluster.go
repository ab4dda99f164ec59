// Package memory is a presence store held in one process: the default of
// switchboard dev, and the reference the Redis store is tested against.
//
// A Cluster holds the shared state; each Tracker started on it is a node.
// New starts a single node on a cluster of its own. The semantics are those of
// presence/redis (leases, dead-node cleanup, events exactly once) within the
// process: a tracker that stops heartbeating without Close (Abandon) is
// removed by a surviving tracker once its lease expires. With a single node
// there is no survivor, and nothing to clean up either: the state dies with
// the process.
//
// Writes are applied at once under the cluster's mutex (they never wait for
// anything else); events are delivered by each tracker's own goroutine.
// Member pages are ordered by socket id; the cursor is the last id returned.
package memory

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/switchboard-rt/switchboard/presence"
)

var _ presence.Reader = (*Cluster)(nil)

type roomKey struct{ ns, room string }
type sockKey struct{ ns, sid string }
type userKey struct{ ns, user string }

// room is a namespace (name "") or a room of one.
type room struct {
	members map[string]*sock // by sid
	users   map[string]int   // user → number of member sockets
}

// sock is a connected socket.
type sock struct {
	owner *Tracker
	ns    string
	m     presence.Member
	rooms map[string]struct{} // named rooms; the namespace is implied
}

// Cluster is presence shared by the trackers of one process. Its methods
// answer cluster-wide queries; it is safe for concurrent use.
type Cluster struct {
	mu    sync.Mutex
	rooms map[roomKey]*room
	socks map[sockKey]*sock
	users map[userKey]map[string]*sock // a user's sockets in a namespace, by sid
	nodes map[string]*Tracker          // registered trackers by node id
}

// NewCluster returns an empty cluster.
func NewCluster() *Cluster {
	return &Cluster{
		rooms: make(map[roomKey]*room),
		socks: make(map[sockKey]*sock),
		users: make(map[userKey]map[string]*sock),
		nodes: make(map[string]*Tracker),
	}
}

// add puts s in room ("" = the namespace), emitting events through by.
func (c *Cluster) add(s *sock, name string, by *Tracker) {
	k := roomKey{s.ns, name}
	r := c.rooms[k]
	if r == nil {
		r = &room{members: make(map[string]*sock), users: make(map[string]int)}
		c.rooms[k] = r
	}
	if _, ok := r.members[s.m.SID]; ok {
		return
	}
	r.members[s.m.SID] = s
	user := s.m.User
	if user != "" {
		r.users[user]++
	}
	if name == "" {
		if user != "" {
			uk := userKey{s.ns, user}
			if c.users[uk] == nil {
				c.users[uk] = make(map[string]*sock)
			}
			c.users[uk][s.m.SID] = s
			if r.users[user] == 1 {
				by.emit(presence.Event{Action: presence.ActionOnline, NS: s.ns, Node: s.m.Node, User: user})
			}
		}
		return
	}
	s.rooms[name] = struct{}{}
	by.emit(memberEvent(presence.ActionJoin, s, name))
}

// del takes s out of room ("" = the namespace), emitting events through by.
func (c *Cluster) del(s *sock, name string, by *Tracker) {
	k := roomKey{s.ns, name}
	r := c.rooms[k]
	if r == nil || r.members[s.m.SID] != s {
		return
	}
	delete(r.members, s.m.SID)
	user := s.m.User
	last := false
	if user != "" {
		if r.users[user]--; r.users[user] <= 0 {
			delete(r.users, user)
			last = true
		}
	}
	if len(r.members) == 0 {
		delete(c.rooms, k)
	}
	if name == "" {
		if user != "" {
			uk := userKey{s.ns, user}
			delete(c.users[uk], s.m.SID)
			if len(c.users[uk]) == 0 {
				delete(c.users, uk)
			}
			if last {
				by.emit(presence.Event{Action: presence.ActionOffline, NS: s.ns, Node: s.m.Node, User: user})
			}
		}
		return
	}
	delete(s.rooms, name)
	by.emit(memberEvent(presence.ActionLeave, s, name))
}

// drop removes s from its rooms and its namespace.
func (c *Cluster) drop(s *sock, by *Tracker) {
	rooms := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		rooms = append(rooms, r)
	}
	sort.Strings(rooms)
	for _, r := range rooms {
		c.del(s, r, by)
	}
	c.del(s, "", by)
	k := sockKey{s.ns, s.m.SID}
	if c.socks[k] == s {
		delete(c.socks, k)
	}
	delete(s.owner.own, k)
}

// reap removes every socket of dead, emitting the events through by.
func (c *Cluster) reap(dead, by *Tracker) int {
	keys := make([]sockKey, 0, len(dead.own))
	for k := range dead.own {
		keys = append(keys, k)
	}
	for _, k := range keys {
		c.drop(dead.own[k], by)
	}
	if c.nodes[dead.cfg.NodeID] == dead {
		delete(c.nodes, dead.cfg.NodeID)
	}
	dead.reaped = true
	return len(keys)
}

func memberEvent(a presence.Action, s *sock, room string) presence.Event {
	return presence.Event{Action: a, NS: s.ns, Room: room, SID: s.m.SID, Node: s.m.Node, Data: s.m.Data, User: s.m.User}
}

// Counts returns the number of members and distinct users of namespace ns
// (room "") or of a room of it.
func (c *Cluster) Counts(_ context.Context, ns, room string) (presence.Counts, error) {
	if ns == "" {
		return presence.Counts{}, fmt.Errorf("%w: empty namespace", presence.ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[roomKey{ns, room}]
	if r == nil {
		return presence.Counts{}, nil
	}
	return presence.Counts{Members: int64(len(r.members)), Users: int64(len(r.users))}, nil
}

// SocketRooms returns the rooms of socket sid in namespace ns, sorted.
func (c *Cluster) SocketRooms(_ context.Context, ns, sid string) ([]string, error) {
	if err := presence.CheckNames(ns, sid); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.socks[sockKey{ns, sid}]
	out := []string{}
	if s != nil {
		for r := range s.rooms {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Query returns the counts and one page of the members q selects, ordered
// by socket id.
func (c *Cluster) Query(_ context.Context, q presence.Query) (presence.Page, error) {
	q, err := q.Normalize()
	if err != nil {
		return presence.Page{}, err
	}
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return presence.Page{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var socks map[string]*sock
	page := presence.Page{Members: []presence.Member{}}
	r := c.rooms[roomKey{q.NS, q.Room}]
	switch {
	case q.User != "":
		socks = c.users[userKey{q.NS, q.User}]
		if q.Room != "" {
			in := make(map[string]*sock)
			for sid, s := range socks {
				if r != nil && r.members[sid] == s {
					in[sid] = s
				}
			}
			socks = in
		}
		page.Count = int64(len(socks))
		if page.Count > 0 {
			page.Users = 1
		}
	case r != nil:
		socks = r.members
		page.Count, page.Users = int64(len(r.members)), int64(len(r.users))
	}
	sids := make([]string, 0, len(socks))
	for sid := range socks {
		if sid > after || after == "" {
			sids = append(sids, sid)
		}
	}
	slices.Sort(sids)
	if len(sids) > q.Limit {
		sids = sids[:q.Limit]
		page.Next = encodeCursor(sids[len(sids)-1])
	}
	for _, sid := range sids {
		m := socks[sid].m
		m.Data = clone(m.Data)
		page.Members = append(page.Members, m)
	}
	return page, nil
}

const cursorPrefix = "m1:"

func encodeCursor(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + after))
}

func decodeCursor(cur string) (after string, err error) {
	if cur == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) || len(b) == len(cursorPrefix) {
		return "", fmt.Errorf("%w: %q", presence.ErrBadCursor, cur)
	}
	return string(b[len(cursorPrefix):]), nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
