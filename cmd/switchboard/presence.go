package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/gateway"
	"github.com/switchboard-rt/switchboard/internal/metrics"
	"github.com/switchboard-rt/switchboard/presence"
	presencemem "github.com/switchboard-rt/switchboard/presence/memory"
	presenceredis "github.com/switchboard-rt/switchboard/presence/redis"
)

// presenceSink hands the tracker's events to the gateway, which publishes
// them on NATS. Events that come before the gateway exists (the cleanup of
// this node's previous life, at start-up) wait for it, up to a bound.
type presenceSink struct {
	mu      sync.Mutex
	gw      *gateway.Gateway
	pending []presence.Event
}

const maxEarlyPresenceEvents = 100_000

func (p *presenceSink) event(ev presence.Event) {
	p.mu.Lock()
	gw := p.gw
	if gw == nil {
		if len(p.pending) < maxEarlyPresenceEvents {
			p.pending = append(p.pending, ev)
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	gw.PublishPresence(ev)
}

func (p *presenceSink) attach(gw *gateway.Gateway) {
	p.mu.Lock()
	p.gw = gw
	early := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, ev := range early {
		gw.PublishPresence(ev)
	}
}

// newPresence starts the presence tracker of the node.
func newPresence(store, redisURL string, cfg serverConfig, nodeID string, logger *slog.Logger, sink *presenceSink) (presence.Tracker, []prometheus.Collector, error) {
	m := metrics.NewPresence()
	pc := presence.Config{
		NodeID: nodeID, OnEvent: sink.event,
		TTL: cfg.Presence.TTL, Heartbeat: cfg.Presence.Heartbeat,
		Logger: logger.With("component", "presence", "store", store), Metrics: m,
	}
	switch store {
	case "memory":
		t, err := presencemem.New(pc)
		return t, nil, err
	default:
		t, err := presenceredis.New(presenceredis.Config{Config: pc, URL: redisURL})
		if err != nil {
			return nil, nil, fmt.Errorf("--%s redis (%s): %w", flagPresence, redactURLs(redisURL), err)
		}
		return t, m.Collectors(), nil
	}
}

// redisLogger sends go-redis's own diagnostics (dial failures while Redis
// is down, once per attempt) to the node's log at debug level: the
// adapter and presence report outages themselves.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

func quietRedis(logger *slog.Logger) { goredis.SetLogger(redisLogger{logger}) }
