package nats

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
)

// Config configures an Adapter. Its zero value works once Conn is set.
type Config struct {
	// Conn is the NATS connection the adapter publishes and subscribes on.
	// Required. The adapter neither closes it nor changes its handlers; its
	// reconnection options (nats.MaxReconnects(-1) is advised) decide how the
	// adapter rides out an outage: nats.go resubscribes after a reconnect.
	Conn *natsgo.Conn

	// Prefix is the subject prefix P of every subject (P.node.…); zero
	// means "sb". It must be dot-separated tokens of [A-Za-z0-9_-].
	Prefix string

	// NodeID is this node's id in the cluster; zero means a random id
	// ("n" and 16 hex digits). "hb", "bc", "sel" and "req" are reserved.
	NodeID string

	// RequestTimeout bounds how long a cluster request waits for the other
	// nodes (a shorter ctx deadline wins); zero means 5s.
	RequestTimeout time.Duration

	// Heartbeat is how often the node announces itself on P.node.hb; zero
	// means 2s.
	Heartbeat time.Duration

	// PeerTTL is how long a peer stays known without a heartbeat; requests
	// stop waiting for a peer silent for longer. Zero means 3×Heartbeat.
	PeerTTL time.Duration

	// MaxMessageBytes caps an encoded message: larger outgoing ones fail
	// with bus.ErrTooLarge, larger incoming ones are dropped. Zero means the
	// server's max_payload.
	MaxMessageBytes int

	// QueueLen is the number of received broadcasts waiting for delivery
	// to Local; when it is full nats.go drops new ones (counted as
	// DropSlowConsumer). Zero means 65536.
	QueueLen int

	// SocketID reports whether a room may be a socket id. Such rooms travel
	// on the namespace's P.node.sel.<ns> subject, which every node receives
	// and filters with Local.HasRoom, since no node announces socket-id
	// rooms. Nil means: 20 characters of [A-Za-z0-9_-], the form of the ids
	// made by edge/engine.NewID and by socket.io. A socket id it misses is
	// never delivered; a room it takes for a socket id is still delivered,
	// only without interest filtering.
	SocketID func(room string) bool

	// Logger receives the adapter's logs; nil discards them.
	Logger *slog.Logger

	// Metrics counts messages; nil means no metrics.
	Metrics Metrics
}

// Metrics receives the adapter's counters. Implementations must be safe
// for concurrent use and must not block.
type Metrics interface {
	// Published counts a message sent to NATS; kind is one of the Kind*
	// constants and size its encoded length.
	Published(kind string, size int)
	// Received counts a message from another node taken from NATS.
	Received(kind string, size int)
	// Dropped counts n messages dropped for reason, one of the Drop* constants.
	Dropped(reason string, n int)
}

// Message kinds of Metrics.Published and Metrics.Received.
const (
	KindBroadcast = "broadcast"
	KindRequest   = "request"
	KindReply     = "reply"
	KindHeartbeat = "heartbeat"
)

// Reasons of Metrics.Dropped.
const (
	// DropMalformed: a message that does not decode.
	DropMalformed = "malformed"
	// DropUnknownType: a message of an unknown kind, version or operation.
	DropUnknownType = "unknown_type"
	// DropOversize: a received message over MaxMessageBytes.
	DropOversize = "oversize"
	// DropUnknownNamespace: a broadcast for a namespace not attached here
	// (requests for one are answered as by a node without sockets there).
	DropUnknownNamespace = "unknown_namespace"
	// DropVolatile: a volatile broadcast not sent while NATS is unreachable.
	DropVolatile = "volatile"
	// DropSlowConsumer: broadcasts nats.go dropped because the delivery
	// queue (QueueLen) was full.
	DropSlowConsumer = "slow_consumer"
	// DropDuplicate: a second copy of a broadcast sent on several subjects
	// (expected; see the package documentation).
	DropDuplicate = "duplicate"
	// DropNotLocal: a P.node.sel broadcast none of whose rooms is local
	// (expected).
	DropNotLocal = "not_local"
	// DropPanic: a Local callback panicked.
	DropPanic = "panic"
	// DropLate: a reply for a request that is over.
	DropLate = "late"
)

type noMetrics struct{}

func (noMetrics) Published(string, int) {}
func (noMetrics) Received(string, int)  {}
func (noMetrics) Dropped(string, int)   {}

// reserved node id tokens: they name the shared subjects under P.node.
var reserved = map[string]bool{"hb": true, "bc": true, "sel": true, "req": true}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Conn == nil {
		return c, errors.New("bus/nats: Config.Conn is required")
	}
	if c.Prefix == "" {
		c.Prefix = contract.DefaultPrefix
	}
	if !contract.ValidPrefix(c.Prefix) {
		return c, fmt.Errorf("bus/nats: invalid subject prefix %q", c.Prefix)
	}
	if c.NodeID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.NodeID = "n" + hex.EncodeToString(b[:])
	}
	if reserved[contract.NameToken(c.NodeID)] {
		return c, fmt.Errorf("bus/nats: node id %q is reserved", c.NodeID)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 2 * time.Second
	}
	if c.PeerTTL <= 0 {
		c.PeerTTL = 3 * c.Heartbeat
	}
	if c.QueueLen <= 0 {
		c.QueueLen = 65536
	}
	if c.SocketID == nil {
		c.SocketID = looksLikeSocketID
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = noMetrics{}
	}
	return c, nil
}

// looksLikeSocketID reports whether room has the form of a socket id: 20
// characters of the base64url alphabet.
func looksLikeSocketID(room string) bool {
	if len(room) != 20 {
		return false
	}
	for i := 0; i < len(room); i++ {
		c := room[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
