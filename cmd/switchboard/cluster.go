package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Cluster flags of `switchboard edge`.
const (
	flagAdapter  = "adapter"
	flagRedisURL = "redis-url"
	flagRedisKey = "redis-key"
	flagPresence = "presence"

	catCluster = "Cluster"

	defaultAdapter  = "redis"
	defaultRedisURL = "redis://127.0.0.1:6379"
	defaultRedisKey = "socket.io"
)

var adapters = []string{"redis", "nats", "memory"}

func clusterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagAdapter, Value: defaultAdapter, EnvVars: env(flagAdapter), Category: catCluster,
			Usage: "fan-out `adapter` between edges: redis (Redis pub/sub, compatible with @socket.io/redis-adapter), nats (interest-based, on the services NATS) or memory (this node alone)"},
		&cli.StringFlag{Name: flagRedisURL, Value: defaultRedisURL, EnvVars: env(flagRedisURL), Category: catCluster,
			Usage: "Redis `URL` for the redis adapter and presence (redis:// or rediss:// for TLS; user, password and database as in redis://user:pass@host:6379/0)"},
		&cli.StringFlag{Name: flagRedisKey, Value: defaultRedisKey, EnvVars: env(flagRedisKey), Category: catCluster,
			Usage: "channel `prefix` of the redis adapter (the key option of @socket.io/redis-adapter; Node.js servers of the same cluster must use the same)"},
		&cli.StringFlag{Name: flagPresence, EnvVars: env(flagPresence), Category: catPresence,
			Usage: "presence `store`: redis or memory (default: redis unless --adapter is memory)"},
	}
}

type clusterConfig struct {
	Adapter  string
	RedisURL string
	RedisKey string
	Presence string
}

// needsRedis reports whether the node talks to Redis.
func (c clusterConfig) needsRedis() bool { return c.Adapter == "redis" || c.Presence == "redis" }

func parseClusterConfig(c *cli.Context, ck *checker) clusterConfig {
	cc := clusterConfig{
		Adapter:  c.String(flagAdapter),
		RedisURL: c.String(flagRedisURL),
		RedisKey: c.String(flagRedisKey),
		Presence: c.String(flagPresence),
	}
	if !slices.Contains(adapters, cc.Adapter) {
		ck.bad(flagAdapter, "must be one of %s, got %q", strings.Join(adapters, ", "), cc.Adapter)
	}
	if cc.Presence == "" {
		cc.Presence = "redis"
		if cc.Adapter == "memory" {
			cc.Presence = "memory"
		}
	}
	if cc.Presence != "redis" && cc.Presence != "memory" {
		ck.bad(flagPresence, "must be redis or memory, got %q", cc.Presence)
	}
	if cc.needsRedis() {
		if err := checkRedisURL(cc.RedisURL); err != nil {
			ck.bad(flagRedisURL, "%v", err)
		}
	}
	if cc.RedisKey == "" || strings.Contains(cc.RedisKey, "#") {
		ck.bad(flagRedisKey, "must be non-empty and without '#', got %q", cc.RedisKey)
	}
	return cc
}

func checkRedisURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix" {
		return fmt.Errorf("scheme must be redis://, rediss:// or unix://, got %q", s)
	}
	if u.Scheme != "unix" && u.Host == "" {
		return fmt.Errorf("no host in %q", s)
	}
	return nil
}
