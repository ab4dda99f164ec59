package redis

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/bus/redis/wire"
)

// Config configures an Adapter. The zero value connects to redis://127.0.0.1:6379 with the
// defaults of @socket.io/redis-adapter.
type Config struct {
	// Client is the Redis client to use: a *goredis.Client, *goredis.FailoverClient or
	// *goredis.ClusterClient (any go-redis UniversalClient). The adapter opens one pub/sub
	// connection and uses the client's pool for everything else; it does not close a client it
	// was given. Such a client should have ContextTimeoutEnabled set, so that Close is not held
	// up by its read timeouts while Redis is unreachable. Zero means a client built from URL.
	Client goredis.UniversalClient
	// URL is used when Client is nil: redis://[[user]:password@]host[:port][/db] or rediss://
	// for TLS, with the query options of go-redis ParseURL (dial_timeout, pool_size, ...). The
	// adapter closes the client it builds. Zero means "redis://127.0.0.1:6379".
	URL string
	// Key is the prefix of every channel and key, the "key" option of @socket.io/redis-adapter
	// and @socket.io/redis-emitter: nodes share a cluster when they share it. Zero means
	// "socket.io".
	Key string
	// NodeID names this node in the cluster. It is also the adapter uid on the wire, so the
	// specific response channel "<key>-response#<nsp>#<NodeID>#" names the node. It must not
	// contain '#' or whitespace and must not be "emitter". Zero means a random "sb-" id.
	NodeID string
	// RequestTimeout bounds a cluster request (FetchSockets, AllRooms, Join, Leave,
	// Disconnect, ServerSideEmit) and the ack timeout of a BROADCAST request that names none.
	// Zero means 5s, the requestsTimeout of @socket.io/redis-adapter.
	RequestTimeout time.Duration
	// MaxMessageBytes is the largest message received or published. Larger incoming messages
	// are dropped unread (a log line and Metrics.Dropped("too_large")); Publish refuses larger
	// broadcasts with an error wrapping bus.ErrTooLarge. Zero means 16 MiB; negative means no
	// limit.
	MaxMessageBytes int
	// MaxQueueBytes bounds the messages waiting to be published while Redis is slow or down.
	// Beyond it volatile broadcasts are dropped and Publish fails with an error wrapping
	// bus.ErrUnavailable. Zero means 64 MiB.
	MaxQueueBytes int
	// HeartbeatInterval is how often the node refreshes its entry in the node registry (the
	// sorted set "<key>#sb#nodes") and checks its subscriber connection. Zero means 2s.
	HeartbeatInterval time.Duration
	// NodeTTL is how long a registry entry counts as a live node after its last heartbeat: a
	// node that died without Close is reported missing by cluster requests for that long.
	// Zero means 3 × HeartbeatInterval.
	NodeTTL time.Duration
	// Logger receives warnings (dropped messages, outages), rate-limited per reason. Zero
	// means no logging.
	Logger *slog.Logger
	// Metrics receives the adapter's counters. Zero means none (a no-op).
	Metrics Metrics
}

// Defaults.
const (
	DefaultURL               = "redis://127.0.0.1:6379"
	DefaultRequestTimeout    = 5 * time.Second
	DefaultMaxMessageBytes   = 16 << 20
	DefaultMaxQueueBytes     = 64 << 20
	DefaultHeartbeatInterval = 2 * time.Second
)

// emitterUID is the uid of @socket.io/redis-emitter messages.
const emitterUID = "emitter"

// withDefaults returns cfg with its zero fields set, or an error for invalid values.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.Key == "" {
		cfg.Key = wire.DefaultKey
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "sb-" + randomID(10)
	}
	if err := checkNodeID(cfg.NodeID); err != nil {
		return cfg, err
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	switch {
	case cfg.MaxMessageBytes == 0:
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	case cfg.MaxMessageBytes < 0:
		cfg.MaxMessageBytes = int(^uint(0) >> 1)
	}
	if cfg.MaxQueueBytes <= 0 {
		cfg.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.NodeTTL <= 0 {
		cfg.NodeTTL = 3 * cfg.HeartbeatInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	return cfg, nil
}

func checkNodeID(id string) error {
	switch {
	case id == emitterUID:
		return errors.New(`bus/redis: node id "emitter" is the uid of @socket.io/redis-emitter`)
	case strings.ContainsAny(id, "# \t\r\n"):
		return fmt.Errorf("bus/redis: node id %q contains '#' or whitespace", id)
	}
	return nil
}

// openClient returns cfg.Client, or a client built from cfg.URL that the adapter owns.
func openClient(cfg *Config) (c goredis.UniversalClient, owned bool, err error) {
	if cfg.Client != nil {
		return cfg.Client, false, nil
	}
	opts, err := goredis.ParseURL(cfg.URL)
	if err != nil {
		return nil, false, fmt.Errorf("bus/redis: redis URL: %w", err)
	}
	// Let contexts bound every command, so that Close and request deadlines are not held up by
	// the client's own timeouts while Redis is unreachable.
	opts.ContextTimeoutEnabled = true
	return goredis.NewClient(opts), true, nil
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomID returns n random characters of [A-Za-z0-9], like the uid2 ids of the reference.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
