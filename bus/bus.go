// Package bus is the contract between the edge nodes of a cluster: how a
// broadcast made on one node reaches the sockets of the others, and how a
// node asks the whole cluster a question (fetch sockets, join/leave/disconnect
// matching sockets, broadcast with acks, server-side emit).
//
// An Adapter is one node's connection to the cluster (bus/redis, bus/nats,
// bus/memory). The edge attaches each of its namespaces with a Local, the
// callbacks through which the adapter delivers what other nodes send and
// answers what they ask; Attach returns a Namespace, through which the edge
// sends. The adapter never imports the edge.
//
// Division of work: the edge applies every operation to its own sockets
// itself and hands the adapter only what must reach the other nodes. An
// adapter never calls Local for an operation its own node started (it filters
// its own echo).
//
// Payloads stay in Socket.IO's model (package socketio): a broadcast is the
// raw JSON array [event, args...] with binary values as placeholders, plus
// the attachments. It is encoded once by the sender and decoded once by each
// receiving node, whatever the number of recipients.
//
// Cluster requests degrade gracefully: they return what the answering nodes
// gave together with a Result naming the nodes that did not answer in time,
// instead of failing outright.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors. Implementations wrap them with %w.
var (
	// ErrClosed is returned by operations on a closed adapter or namespace.
	ErrClosed = errors.New("bus: closed")
	// ErrUnavailable means the backing service (Redis, NATS) cannot be reached.
	ErrUnavailable = errors.New("bus: unavailable")
	// ErrNodeIDConflict is returned at start-up when another live node uses the same id.
	ErrNodeIDConflict = errors.New("bus: node id already in use by a live node")
	// ErrTooLarge means a message is over the adapter's size limit.
	ErrTooLarge = errors.New("bus: message too large")
)

// Selector picks sockets of one namespace: those in any of Rooms (every
// socket when Rooms is empty; a socket's id is a room), minus those in any of
// Except.
type Selector struct {
	Rooms  []string `json:"rooms,omitempty"`
	Except []string `json:"except,omitempty"`
}

// Message is an event payload in Socket.IO's model.
type Message struct {
	// Data is the JSON array [event, args...] of a broadcast or server-side
	// emit, or the JSON array of ack arguments of an answer. A binary value
	// stands in it as {"_placeholder":true,"num":N}.
	Data json.RawMessage
	// Attachments are the binary values, indexed by the placeholders' num.
	Attachments [][]byte
}

// Broadcast is an event for the selected sockets of one namespace.
type Broadcast struct {
	Selector
	Message
	// Volatile broadcasts may be dropped for clients that cannot take them at once.
	Volatile bool
}

// SocketInfo describes a socket in a cluster-wide fetch.
type SocketInfo struct {
	ID    string   `json:"sid"`
	Node  string   `json:"node"`
	Rooms []string `json:"rooms"`
	// Data is the socket's data as JSON, "null" when unset.
	Data json.RawMessage `json:"data"`
	User string          `json:"user,omitempty"`
	// Handshake is the handshake object as JSON ({"headers","query","address",
	// "url","auth","time","secure",...}); may be nil.
	Handshake json.RawMessage `json:"handshake,omitempty"`
}

// Result tells which nodes took part in a cluster request.
type Result struct {
	// Answered is the number of other nodes that answered.
	Answered int
	// Missing lists the other nodes that did not answer in time (their ids,
	// or a placeholder such as "unknown-1" for peers without a known id).
	// Never nil after a request: empty when every node answered.
	Missing []string
}

// Local is what the edge offers the adapter for one namespace: how remote
// operations are applied to this node's sockets. Methods must not block on
// the network; they may be called concurrently.
type Local interface {
	// Broadcast delivers a broadcast from another node to the local sockets.
	Broadcast(b *Broadcast)
	// BroadcastWithAck delivers a broadcast that wants client acks and
	// returns the number of local sockets it was sent to; ack is called once
	// per client answer (args as a JSON array) until timeout, then no more.
	BroadcastWithAck(b *Broadcast, timeout time.Duration, ack func(Message)) int
	// Join makes the selected local sockets join rooms and returns how many matched.
	Join(sel Selector, rooms []string) int
	// Leave makes the selected local sockets leave rooms and returns how many matched.
	Leave(sel Selector, rooms []string) int
	// Disconnect disconnects the selected local sockets (close: also close
	// their connection) and returns how many matched.
	Disconnect(sel Selector, close bool) int
	// Sockets describes the selected local sockets.
	Sockets(sel Selector) []SocketInfo
	// Rooms lists the local rooms (socket-id rooms included).
	Rooms() []string
	// HasRoom reports whether a local socket is in room (a socket id counts).
	HasRoom(room string) bool
	// ServerSideEmit hands a server-side event ([event, args...]) from
	// another node to this node's handlers; reply is nil when the sender
	// wants no answer, else it must be called at most once with the ack
	// arguments (a JSON array).
	ServerSideEmit(m Message, reply func(Message))
}

// Namespace is one namespace's link to the other nodes. Methods reach only
// the other nodes: the caller applies the operation locally itself.
type Namespace interface {
	// Publish sends a broadcast to the other nodes; it does not wait for
	// delivery. Volatile broadcasts may be dropped while the bus is down.
	Publish(ctx context.Context, b *Broadcast) error
	// PublishWithAck sends a broadcast that wants client acks. It calls
	// count once per answering node with the number of its clients the event
	// was sent to, and ack once per client answer, until every counted
	// client answered or timeout passed. Calls to count and ack do not
	// overlap. It returns when done, or at ctx's end.
	PublishWithAck(ctx context.Context, b *Broadcast, timeout time.Duration, count func(n int), ack func(Message)) (Result, error)
	// Join makes the selected sockets of the other nodes join rooms. Matched
	// is the number of sockets they matched, when they report it.
	Join(ctx context.Context, sel Selector, rooms []string) (matched int, res Result, err error)
	// Leave is Join for leaving rooms.
	Leave(ctx context.Context, sel Selector, rooms []string) (matched int, res Result, err error)
	// Disconnect disconnects the selected sockets of the other nodes.
	Disconnect(ctx context.Context, sel Selector, close bool) (matched int, res Result, err error)
	// FetchSockets describes the selected sockets of the other nodes.
	FetchSockets(ctx context.Context, sel Selector) ([]SocketInfo, Result, error)
	// AllRooms lists the rooms of the other nodes.
	AllRooms(ctx context.Context) ([]string, Result, error)
	// ServerSideEmit sends an event ([event, args...]) to the other nodes'
	// server-side handlers. With a nil reply nothing is awaited; otherwise
	// reply is called once per answer until every node answered or ctx ends.
	ServerSideEmit(ctx context.Context, m Message, reply func(Message)) (Result, error)
	// RoomCreated and RoomDeleted tell the adapter that the first local
	// socket joined, or the last left, a room (not socket-id rooms), so that
	// an interest-based adapter subscribes only to rooms with local members.
	// They are called in order for a room, without the caller's locks held.
	RoomCreated(room string)
	RoomDeleted(room string)
	// Close detaches the namespace.
	Close() error
}

// Adapter is a node's connection to the cluster.
type Adapter interface {
	// NodeID returns this node's id in the cluster.
	NodeID() string
	// Attach links namespace nsp (e.g. "/chat") to the cluster; local
	// answers for this node's sockets in it.
	Attach(nsp string, local Local) (Namespace, error)
	// Ready returns nil while the adapter can reach the cluster, or an error
	// (wrapping ErrUnavailable) saying why not. It is cheap: /readyz calls it.
	Ready() error
	// Close detaches every namespace and releases the connection.
	Close() error
}

// SocketIDTagger is implemented by adapters that route one-socket messages
// to the node holding the socket alone: the edge starts the ids of its
// sockets with the tag (its 3 bytes are the first 4 base64url characters of
// the id), and the adapter routes a message for a socket id by them.
type SocketIDTagger interface {
	SocketIDTag() [3]byte
}
