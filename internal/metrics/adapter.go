package metrics

import "github.com/prometheus/client_golang/prometheus"

// Adapter counts the traffic of a node's cluster adapter. Its collectors
// are registered by the caller (the adapter exists before the registry of
// the node does).
type Adapter struct {
	published  *prometheus.CounterVec
	received   *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	reconnects prometheus.Counter
	connected  prometheus.Gauge
}

// NewAdapter returns the metrics of the adapter named name (redis, nats).
func NewAdapter(name string) *Adapter {
	labels := prometheus.Labels{"adapter": name}
	return &Adapter{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_adapter_published_total", ConstLabels: labels,
			Help: "Messages the cluster adapter published, by kind (broadcast, request, response/reply, heartbeat).",
		}, []string{"kind"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_adapter_received_total", ConstLabels: labels,
			Help: "Messages the cluster adapter received, by kind, before filtering.",
		}, []string{"kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_adapter_dropped_total", ConstLabels: labels,
			Help: "Messages the cluster adapter dropped, by reason (malformed, too_large, unknown_namespace, unknown_type, queue_full, ...).",
		}, []string{"reason"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_adapter_reconnects_total", ConstLabels: labels,
			Help: "Restorations of the adapter's subscriptions after an outage.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_adapter_connected", ConstLabels: labels,
			Help: "1 while the adapter's subscriptions are live, 0 during an outage.",
		}),
	}
}

// Collectors returns the collectors to register.
func (a *Adapter) Collectors() []prometheus.Collector {
	return []prometheus.Collector{a.published, a.received, a.dropped, a.reconnects, a.connected}
}

// Redis returns the view that bus/redis.Metrics expects.
func (a *Adapter) Redis() RedisAdapter { return RedisAdapter{a} }

// NATS returns the view that bus/nats.Metrics expects.
func (a *Adapter) NATS() NATSAdapter { return NATSAdapter{a} }

// RedisAdapter implements bus/redis.Metrics.
type RedisAdapter struct{ a *Adapter }

func (m RedisAdapter) Published(kind string) { m.a.published.WithLabelValues(kind).Inc() }
func (m RedisAdapter) Received(kind string)  { m.a.received.WithLabelValues(kind).Inc() }
func (m RedisAdapter) Dropped(reason string) { m.a.dropped.WithLabelValues(reason).Inc() }
func (m RedisAdapter) Reconnected()          { m.a.reconnects.Inc() }
func (m RedisAdapter) Connected(up bool) {
	if up {
		m.a.connected.Set(1)
	} else {
		m.a.connected.Set(0)
	}
}

// NATSAdapter implements bus/nats.Metrics.
type NATSAdapter struct{ a *Adapter }

func (m NATSAdapter) Published(kind string, _ int) { m.a.published.WithLabelValues(kind).Inc() }
func (m NATSAdapter) Received(kind string, _ int)  { m.a.received.WithLabelValues(kind).Inc() }
func (m NATSAdapter) Dropped(reason string, n int) {
	m.a.dropped.WithLabelValues(reason).Add(float64(n))
}
