package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors. Implementations wrap them with %w; test with errors.Is.
var (
	// ErrUnavailable means the shared store (Redis) cannot be reached: reads
	// fail with it, and Sync while changes cannot be written.
	ErrUnavailable = errors.New("presence: unavailable")
	// ErrClosed is returned by a tracker after Close or Abandon.
	ErrClosed = errors.New("presence: closed")
	// ErrInvalid is returned for an empty namespace, socket id or room name,
	// a negative limit, or socket data that is not valid JSON.
	ErrInvalid = errors.New("presence: invalid argument")
	// ErrBadCursor is returned for a cursor that no query returned.
	ErrBadCursor = errors.New("presence: malformed cursor")
	// ErrLimit is returned for a page limit over MaxLimit.
	ErrLimit = errors.New("presence: page limit too large")
	// ErrUnknownSocket is returned by Join, Leave and SetData for a socket
	// this node did not Connect in that namespace.
	ErrUnknownSocket = errors.New("presence: unknown socket")
	// ErrNodeIDConflict means another live process registered this node's
	// id; this node's changes are no longer written (see docs/presence.md).
	ErrNodeIDConflict = errors.New("presence: node id taken over by another process")
)

// Page sizes of Query.
const (
	// DefaultLimit is the page size of a Query whose Limit is zero.
	DefaultLimit = 100
	// MaxLimit is the largest Limit a Query accepts.
	MaxLimit = 1000
)

// Member is one socket in a namespace or a room. Its JSON form is the member
// object of the P.cmd.presence reply.
type Member struct {
	// SID is the socket id.
	SID string `json:"sid"`
	// Node is the id of the node holding the socket. Trackers set it.
	Node string `json:"node"`
	// Data is the socket's data as JSON; nil (null) when unset.
	Data json.RawMessage `json:"data"`
	// User is the user id from the authentication reply; "" when none.
	User string `json:"user,omitempty"`
}

// Validate reports whether m can be tracked: a non-empty SID, and Data that
// is empty or valid JSON.
func (m Member) Validate() error {
	if m.SID == "" {
		return fmt.Errorf("%w: empty socket id", ErrInvalid)
	}
	if len(m.Data) > 0 && !json.Valid(m.Data) {
		return fmt.Errorf("%w: socket %q: data is not valid JSON", ErrInvalid, m.SID)
	}
	return nil
}

// Action is what an Event reports.
type Action string

// Actions.
const (
	// ActionJoin: a socket joined a room.
	ActionJoin Action = "join"
	// ActionLeave: a socket left a room (it left, disconnected, or its node died).
	ActionLeave Action = "leave"
	// ActionOnline: a user's first socket connected to the namespace.
	ActionOnline Action = "online"
	// ActionOffline: a user's last socket left the namespace.
	ActionOffline Action = "offline"
)

// Event is one change of presence, emitted exactly once cluster-wide. Its
// JSON form is the body of P.presence.<ns>.<room> (join, leave) and of
// P.user.<ns> (online, offline); NS and Room name the subject.
type Event struct {
	Action Action `json:"action"`
	// NS is the namespace.
	NS string `json:"-"`
	// Room is the room of a join or leave; "" for online and offline.
	Room string `json:"-"`
	// SID is the socket of a join or leave; "" for online and offline.
	SID string `json:"sid,omitempty"`
	// Node is the node of the socket (for online and offline: of the
	// user's first or last socket).
	Node string `json:"node"`
	// Data is the socket's data of a join or leave; nil when unset.
	Data json.RawMessage `json:"data,omitempty"`
	// User is the socket's user; "" when none.
	User string `json:"user,omitempty"`
}

// Counts are the sizes of a namespace or a room.
type Counts struct {
	// Members is the number of member sockets.
	Members int64 `json:"count"`
	// Users is the number of distinct users among them (sockets without a
	// user are not counted).
	Users int64 `json:"users"`
}

// Query selects members: of namespace NS (Room ""), or of Room in NS;
// with User set, only that user's sockets. Its JSON form is the body of a
// P.cmd.presence request.
type Query struct {
	NS   string `json:"ns"`
	Room string `json:"room,omitempty"`
	User string `json:"user,omitempty"`
	// Limit is the page size: zero means DefaultLimit; over MaxLimit is
	// refused with ErrLimit.
	Limit int `json:"limit,omitempty"`
	// Cursor continues a previous query: its Page.Next. "" starts.
	Cursor string `json:"cursor,omitempty"`
}

// Normalize returns q with its default limit set, or an error wrapping
// ErrInvalid or ErrLimit.
func (q Query) Normalize() (Query, error) {
	switch {
	case q.NS == "":
		return q, fmt.Errorf("%w: empty namespace", ErrInvalid)
	case q.Limit < 0:
		return q, fmt.Errorf("%w: negative limit %d", ErrInvalid, q.Limit)
	case q.Limit > MaxLimit:
		return q, fmt.Errorf("%w: %d (at most %d)", ErrLimit, q.Limit, MaxLimit)
	case q.Limit == 0:
		q.Limit = DefaultLimit
	}
	return q, nil
}

// Page is one page of a Query's answer. Its JSON form is the P.cmd.presence
// reply.
type Page struct {
	// Count is the number of member sockets selected (all pages).
	Count int64 `json:"count"`
	// Users is the number of distinct users among them.
	Users int64 `json:"users"`
	// Members is this page, at most Limit members; never nil.
	Members []Member `json:"members"`
	// Next continues the query; "" when this is the last page. Members
	// present during the whole scan are returned at least once; members
	// joining or leaving meanwhile may or may not be.
	Next string `json:"next,omitempty"`
}

// Reader answers cluster-wide presence queries. An unknown namespace, room,
// user or socket reads as empty, not as an error.
type Reader interface {
	// Counts returns the number of members and of distinct users of
	// namespace ns (room "") or of a room, in O(1).
	Counts(ctx context.Context, ns, room string) (Counts, error)
	// Query returns the counts and one page of the members q selects.
	Query(ctx context.Context, q Query) (Page, error)
	// SocketRooms returns the rooms of socket sid in namespace ns, sorted.
	SocketRooms(ctx context.Context, ns, sid string) ([]string, error)
}

// Tracker is one node's view of presence: it publishes the node's own
// sockets to the cluster and reads the cluster's. The write methods never
// block on the network (see the package documentation).
type Tracker interface {
	Reader
	// Connect makes socket m.SID a member of namespace ns, with its data and
	// user. Connecting a connected socket again replaces its data and user.
	Connect(ns string, m Member) error
	// Join puts a connected socket in rooms. Joining a room twice is a no-op.
	Join(ns, sid string, rooms ...string) error
	// Leave takes a connected socket out of rooms.
	Leave(ns, sid string, rooms ...string) error
	// SetData replaces a connected socket's data (nil: none).
	SetData(ns, sid string, data json.RawMessage) error
	// Disconnect removes a socket from the namespace and all its rooms.
	// Disconnecting an unknown socket is a no-op.
	Disconnect(ns, sid string) error
	// Sync waits until the changes made on this node before the call are
	// visible cluster-wide and their events were handed to OnEvent.
	Sync(ctx context.Context) error
	// Close removes this node's members at once (emitting their leaves) and
	// stops the tracker. It returns when done or when ctx ends.
	Close(ctx context.Context) error
}

// CheckNames reports whether ns, sid and rooms are usable names: all
// non-empty.
func CheckNames(ns, sid string, rooms ...string) error {
	if ns == "" {
		return fmt.Errorf("%w: empty namespace", ErrInvalid)
	}
	if sid == "" {
		return fmt.Errorf("%w: empty socket id", ErrInvalid)
	}
	for _, r := range rooms {
		if r == "" {
			return fmt.Errorf("%w: empty room name", ErrInvalid)
		}
	}
	return nil
}
