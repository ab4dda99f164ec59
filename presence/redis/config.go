package redis

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/presence"
)

// Defaults of Config.
const (
	DefaultURL       = "redis://127.0.0.1:6379"
	DefaultKeyPrefix = "sb:presence"
)

// Config configures a Tracker.
type Config struct {
	// Config holds the settings shared by every implementation (NodeID,
	// OnEvent, TTL, Heartbeat, Logger, Metrics).
	presence.Config
	// Client is the Redis client to use (a standalone or Sentinel client;
	// the scripts build key names, so Redis Cluster is not supported). It
	// should have ContextTimeoutEnabled set so that an unreachable Redis
	// does not hold the tracker beyond its own deadlines. The tracker does
	// not close a client it was given. Zero means a client built from URL.
	Client goredis.UniversalClient
	// URL is used when Client is nil: redis://[[user]:password@]host[:port][/db]
	// or rediss:// for TLS, with the query options of go-redis ParseURL. The
	// tracker closes the client it builds. Zero means DefaultURL.
	URL string
	// KeyPrefix is the prefix of every key: trackers share presence when
	// they share it. Zero means DefaultKeyPrefix.
	KeyPrefix string
}

func (cfg Config) withDefaults() (Config, error) {
	var err error
	if cfg.Config, err = cfg.Config.WithDefaults(); err != nil {
		return cfg, err
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	return cfg, nil
}

// client returns cfg.Client, or a client built from cfg.URL that the
// tracker owns.
func (cfg Config) client() (c goredis.UniversalClient, owned bool, err error) {
	if cfg.Client != nil {
		return cfg.Client, false, nil
	}
	opts, err := goredis.ParseURL(cfg.URL)
	if err != nil {
		return nil, false, fmt.Errorf("presence/redis: redis URL: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	return goredis.NewClient(opts), true, nil
}

// Tuning that does not deserve a Config field.
const (
	maxSocksPerFlush = 2048                 // sockets taken from the dirty list per flush
	maxOpsPerScript  = 512                  // operations per EVALSHA of a flush's pipeline
	maxOpsPerFlush   = 16 * maxOpsPerScript // the scripts' kept replies (32) must cover a flush
	reapChunk        = 500                  // sockets removed per reap script
	reapChunksPerRun = 20                   // reap scripts per loop iteration, between flushes
	minRetry         = 50 * time.Millisecond
)

func token() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
