package redis

import (
	"log/slog"
	"sync"
	"time"
)

// Metrics receives the adapter's counters; cmd/ wires it to Prometheus. Methods are called
// concurrently and must not block.
type Metrics interface {
	// Published counts a message published to Redis, by kind: KindBroadcast, KindRequest or
	// KindResponse.
	Published(kind string)
	// Received counts a message received from Redis, by kind, before any filtering.
	Received(kind string)
	// Dropped counts a message dropped, by reason (the Reason* constants).
	Dropped(reason string)
	// Reconnected counts the restorations of the subscriber connection (and with it every
	// subscription) after an outage.
	Reconnected()
	// Connected reports the subscriber connection's state: true when New returns, false from
	// the moment it is lost until it is restored (Ready fails meanwhile).
	Connected(up bool)
}

// Message kinds of Metrics.Published and Metrics.Received.
const (
	KindBroadcast = "broadcast" // a broadcast channel message
	KindRequest   = "request"   // a request channel message
	KindResponse  = "response"  // a response channel message
)

// Reasons of Metrics.Dropped.
const (
	ReasonMalformed        = "malformed"         // undecodable, or a field of the wrong shape
	ReasonTooLarge         = "too_large"         // over Config.MaxMessageBytes
	ReasonUnknownNamespace = "unknown_namespace" // a channel or packet naming no attached namespace
	ReasonUnknownType      = "unknown_type"      // a request or packet type this adapter does not handle
	ReasonQueueFull        = "queue_full"        // an outgoing message over Config.MaxQueueBytes
	ReasonPublishFailed    = "publish_failed"    // an outgoing message Redis did not take
	ReasonPanic            = "panic"             // a callback panicked while handling the message
	ReasonClosed           = "closed"            // an outgoing message left unsent at Close
)

type nopMetrics struct{}

func (nopMetrics) Published(string) {}
func (nopMetrics) Received(string)  {}
func (nopMetrics) Dropped(string)   {}
func (nopMetrics) Reconnected()     {}
func (nopMetrics) Connected(bool)   {}

// dropLog logs dropped messages at most once per reason per second, counting the others.
type dropLog struct {
	log *slog.Logger

	mu    sync.Mutex
	state map[string]*dropState
}

type dropState struct {
	last       time.Time
	suppressed int
}

func (d *dropLog) logf(reason, detail string, attrs ...any) {
	now := time.Now()
	d.mu.Lock()
	if d.state == nil {
		d.state = make(map[string]*dropState)
	}
	s := d.state[reason]
	if s == nil {
		s = &dropState{}
		d.state[reason] = s
	}
	if now.Sub(s.last) < time.Second {
		s.suppressed++
		d.mu.Unlock()
		return
	}
	suppressed := s.suppressed
	s.last, s.suppressed = now, 0
	d.mu.Unlock()
	attrs = append(attrs, "reason", reason, "detail", detail)
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	d.log.Warn("bus/redis: message dropped", attrs...)
}
