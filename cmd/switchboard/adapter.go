package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/bus/memory"
	busnats "github.com/switchboard-rt/switchboard/bus/nats"
	busredis "github.com/switchboard-rt/switchboard/bus/redis"
	"github.com/switchboard-rt/switchboard/internal/metrics"
)

// newAdapter connects the node to the other edges with the configured
// adapter. It returns the collectors of the adapter's metrics.
func newAdapter(ctx context.Context, cc clusterConfig, cfg serverConfig, nc *nats.Conn, nodeID string, logger *slog.Logger) (bus.Adapter, []prometheus.Collector, error) {
	logger = logger.With("component", "adapter", "adapter", cc.Adapter)
	m := metrics.NewAdapter(cc.Adapter)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	switch cc.Adapter {
	case "memory":
		a, err := memory.NewHub().Join(nodeID)
		return a, nil, err
	case "nats":
		a, err := busnats.New(ctx, busnats.Config{
			Conn: nc, Prefix: cfg.Services.SubjectPrefix, NodeID: nodeID,
			RequestTimeout: cfg.Services.RequestTimeout, Logger: logger, Metrics: m.NATS(),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("--%s nats: %w", flagAdapter, err)
		}
		return a, m.Collectors(), nil
	default:
		a, err := busredis.New(ctx, busredis.Config{
			URL: cc.RedisURL, Key: cc.RedisKey, NodeID: nodeID,
			RequestTimeout: cfg.Services.RequestTimeout, Logger: logger, Metrics: m.Redis(),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("--%s redis (%s): %w", flagAdapter, redactURLs(cc.RedisURL), err)
		}
		return a, m.Collectors(), nil
	}
}
