package presence

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults of Config.
const (
	DefaultTTL       = 15 * time.Second
	DefaultHeartbeat = 5 * time.Second
)

// Config is what every Tracker implementation takes. Its zero value, with a
// NodeID, works.
type Config struct {
	// NodeID names this node in members and events. Required. A node that
	// starts with the id of a dead one replaces it: the dead incarnation's
	// members are removed (with their leave events) when it starts.
	NodeID string
	// OnEvent receives every change this node performs (its own sockets'
	// joins and leaves, and the cleanup of dead nodes it does), from the
	// tracker's goroutine, one at a time. It must not block. Zero means the
	// events are dropped.
	OnEvent func(Event)
	// TTL is the node's lease: a node that has not refreshed it for TTL is
	// dead and its members are removed by a surviving node. Zero means 15s.
	TTL time.Duration
	// Heartbeat is how often the lease is refreshed, dead nodes looked for,
	// and the shared store checked for lost state. It must be less than TTL.
	// Zero means 5s, or TTL/3 when that is less.
	Heartbeat time.Duration
	// Logger receives warnings (outages, rebuilds, node id conflicts). Zero
	// means no logging.
	Logger *slog.Logger
	// Metrics receives the tracker's counters. Zero means none.
	Metrics Metrics
}

// WithDefaults returns c with its zero fields set, or an error wrapping
// ErrInvalid.
func (c Config) WithDefaults() (Config, error) {
	if c.NodeID == "" {
		return c, fmt.Errorf("%w: empty node id", ErrInvalid)
	}
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = min(DefaultHeartbeat, c.TTL/3)
	}
	if c.Heartbeat >= c.TTL {
		return c, fmt.Errorf("%w: heartbeat %v must be less than TTL %v", ErrInvalid, c.Heartbeat, c.TTL)
	}
	if c.OnEvent == nil {
		c.OnEvent = func(Event) {}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NopMetrics{}
	}
	return c, nil
}

// Metrics receives a tracker's counters; wire it to Prometheus in cmd/.
// Methods may be called concurrently and must not block.
type Metrics interface {
	// Flushed reports one write of ops changes to the shared store, that
	// took took; err is nil on success.
	Flushed(ops int, took time.Duration, err error)
	// Pending reports how many sockets have changes not yet written.
	Pending(sockets int)
	// Rebuilt reports that the node wrote its whole membership again;
	// reason is "lost" (the store lost its state), "diverged" (it lost
	// recent writes) or "reaped" (the node was taken for dead).
	Rebuilt(reason string)
	// Reaped reports that this node removed n sockets of a dead node or of
	// its own previous incarnation.
	Reaped(n int)
}

// NopMetrics is a Metrics that does nothing.
type NopMetrics struct{}

func (NopMetrics) Flushed(int, time.Duration, error) {}
func (NopMetrics) Pending(int)                       {}
func (NopMetrics) Rebuilt(string)                    {}
func (NopMetrics) Reaped(int)                        {}
