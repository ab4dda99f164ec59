package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Presence implements presence.Metrics with Prometheus collectors.
type Presence struct {
	flushes *prometheus.CounterVec
	ops     prometheus.Counter
	latency prometheus.Histogram
	pending prometheus.Gauge
	rebuilt *prometheus.CounterVec
	reaped  prometheus.Counter
}

// NewPresence returns presence metrics; register Collectors.
func NewPresence() *Presence {
	return &Presence{
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_presence_flushes_total",
			Help: "Batched writes of presence changes to the store, by outcome (ok, error).",
		}, []string{"outcome"}),
		ops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_presence_ops_total",
			Help: "Presence changes written to the store.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_presence_flush_seconds",
			Help:    "Duration of one batched write of presence changes.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_presence_pending_sockets",
			Help: "Sockets whose presence changes are not written yet (grows while the store is down).",
		}),
		rebuilt: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_presence_rebuilds_total",
			Help: "Times this node wrote its whole membership again, by reason (lost, diverged, reaped).",
		}, []string{"reason"}),
		reaped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_presence_reaped_sockets_total",
			Help: "Sockets of dead nodes (or of this node's previous life) this node removed.",
		}),
	}
}

// Collectors returns the collectors to register.
func (p *Presence) Collectors() []prometheus.Collector {
	return []prometheus.Collector{p.flushes, p.ops, p.latency, p.pending, p.rebuilt, p.reaped}
}

func (p *Presence) Flushed(ops int, took time.Duration, err error) {
	if err != nil {
		p.flushes.WithLabelValues("error").Inc()
		return
	}
	p.flushes.WithLabelValues("ok").Inc()
	p.ops.Add(float64(ops))
	p.latency.Observe(took.Seconds())
}
func (p *Presence) Pending(sockets int)   { p.pending.Set(float64(sockets)) }
func (p *Presence) Rebuilt(reason string) { p.rebuilt.WithLabelValues(reason).Inc() }
func (p *Presence) Reaped(n int)          { p.reaped.Add(float64(n)) }
