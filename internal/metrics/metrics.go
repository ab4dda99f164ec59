package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-rt/switchboard/edge"
)

// MaxNamespaceLabels bounds the distinct namespace label values; sockets of
// further namespaces are counted under OtherNamespace.
const MaxNamespaceLabels = 256

// OtherNamespace is the namespace label of the namespaces beyond MaxNamespaceLabels.
const OtherNamespace = "_other"

// Transports, as the edge server names them.
const (
	transportPolling   = "polling"
	transportWebSocket = "websocket"
)

var _ edge.Metrics = (*Metrics)(nil)

// Metrics records an edge server's observations as Prometheus metrics.
type Metrics struct {
	sessions       *prometheus.GaugeVec
	sessionsPoll   prometheus.Gauge
	sessionsWS     prometheus.Gauge
	opened         *prometheus.CounterVec
	openedPoll     prometheus.Counter
	openedWS       prometheus.Counter
	closed         *prometheus.CounterVec
	upgrades       prometheus.Counter
	upgradeFails   *prometheus.CounterVec
	packetsIn      prometheus.Counter
	packetsOut     prometheus.Counter
	bytesIn        prometheus.Counter
	bytesOut       prometheus.Counter
	slowConsumers  prometheus.Counter
	errors         *prometheus.CounterVec
	sockets        *prometheus.GaugeVec
	socketsConn    *prometheus.CounterVec
	socketsDisconn *prometheus.CounterVec
	ackTimeouts    prometheus.Counter
	panics         prometheus.Counter

	nsps    sync.Map   // namespace name → *nspSeries; at most MaxNamespaceLabels entries
	nspMu   sync.Mutex // serializes creating entries; guards nspN and nspRest
	nspN    int
	nspRest *nspSeries // the OtherNamespace series, created on first use
}

type nspSeries struct {
	sockets   prometheus.Gauge
	connected prometheus.Counter
}

// New returns a Metrics whose collectors are registered with reg; it panics
// if they cannot be (a name already registered). A nil reg registers nothing.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_engine_sessions",
			Help: "Live Engine.IO sessions by current transport.",
		}, []string{"transport"}),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_engine_sessions_opened_total",
			Help: "Engine.IO sessions opened, by their first transport.",
		}, []string{"transport"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_engine_sessions_closed_total",
			Help: "Engine.IO sessions closed, by the transport they had and the close reason.",
		}, []string{"transport", "reason"}),
		upgrades: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_engine_upgrades_total",
			Help: "Sessions upgraded from polling to websocket.",
		}),
		upgradeFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_engine_upgrade_failures_total",
			Help: "Failed transport upgrades by reason.",
		}, []string{"reason"}),
		packetsIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_engine_packets_received_total",
			Help: "Engine.IO packets received from clients.",
		}),
		packetsOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_engine_packets_sent_total",
			Help: "Engine.IO packets sent to clients.",
		}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_engine_received_bytes_total",
			Help: "Bytes received from clients.",
		}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_engine_sent_bytes_total",
			Help: "Bytes sent to clients.",
		}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_engine_slow_consumer_disconnects_total",
			Help: "Sessions closed because their outbound queue overflowed.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_errors_total",
			Help: "Rejected requests and protocol errors by kind.",
		}, []string{"kind"}),
		sockets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_sockets",
			Help: "Connected Socket.IO sockets by namespace.",
		}, []string{"namespace"}),
		socketsConn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sockets_connected_total",
			Help: "Socket.IO socket connections by namespace.",
		}, []string{"namespace"}),
		socketsDisconn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sockets_disconnected_total",
			Help: "Socket.IO socket disconnections by reason.",
		}, []string{"reason"}),
		ackTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_ack_timeouts_total",
			Help: "Server-to-client acknowledgements that timed out.",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_handler_panics_total",
			Help: "Panics recovered from application handlers.",
		}),
	}
	m.sessionsPoll = m.sessions.WithLabelValues(transportPolling)
	m.sessionsWS = m.sessions.WithLabelValues(transportWebSocket)
	m.openedPoll = m.opened.WithLabelValues(transportPolling)
	m.openedWS = m.opened.WithLabelValues(transportWebSocket)
	if reg != nil {
		reg.MustRegister(m.collectors()...)
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.sessions, m.opened, m.closed, m.upgrades, m.upgradeFails,
		m.packetsIn, m.packetsOut, m.bytesIn, m.bytesOut, m.slowConsumers,
		m.errors, m.sockets, m.socketsConn, m.socketsDisconn, m.ackTimeouts, m.panics,
	}
}

func (m *Metrics) sessionGauge(transport string) prometheus.Gauge {
	switch transport {
	case transportPolling:
		return m.sessionsPoll
	case transportWebSocket:
		return m.sessionsWS
	}
	return m.sessions.WithLabelValues(transport)
}

// SessionOpened counts a new session on transport.
func (m *Metrics) SessionOpened(transport string) {
	switch transport {
	case transportPolling:
		m.openedPoll.Inc()
	case transportWebSocket:
		m.openedWS.Inc()
	default:
		m.opened.WithLabelValues(transport).Inc()
	}
	m.sessionGauge(transport).Inc()
}

// SessionClosed counts a closed session; transport is the one it had when it closed.
func (m *Metrics) SessionClosed(transport, reason string) {
	m.sessionGauge(transport).Dec()
	m.closed.WithLabelValues(transport, reason).Inc()
}

// Upgraded moves one session from polling to websocket.
func (m *Metrics) Upgraded() {
	m.upgrades.Inc()
	m.sessionsPoll.Dec()
	m.sessionsWS.Inc()
}

// UpgradeFailed counts a failed upgrade.
func (m *Metrics) UpgradeFailed(reason string) { m.upgradeFails.WithLabelValues(reason).Inc() }

// PacketsIn counts n packets and bytes bytes received.
func (m *Metrics) PacketsIn(n, bytes int) {
	if n > 0 {
		m.packetsIn.Add(float64(n))
	}
	if bytes > 0 {
		m.bytesIn.Add(float64(bytes))
	}
}

// PacketsOut counts n packets and bytes bytes sent.
func (m *Metrics) PacketsOut(n, bytes int) {
	if n > 0 {
		m.packetsOut.Add(float64(n))
	}
	if bytes > 0 {
		m.bytesOut.Add(float64(bytes))
	}
}

// SlowConsumer counts a session closed for overflowing its queue.
func (m *Metrics) SlowConsumer() { m.slowConsumers.Inc() }

// Error counts an error of kind.
func (m *Metrics) Error(kind string) { m.errors.WithLabelValues(kind).Inc() }

// SocketConnected counts a socket connected to nsp.
func (m *Metrics) SocketConnected(nsp string) {
	s := m.namespace(nsp)
	s.connected.Inc()
	s.sockets.Inc()
}

// SocketDisconnected counts a socket of nsp that disconnected for reason.
func (m *Metrics) SocketDisconnected(nsp, reason string) {
	m.namespace(nsp).sockets.Dec()
	m.socketsDisconn.WithLabelValues(reason).Inc()
}

// AckTimeout counts an acknowledgement that timed out.
func (m *Metrics) AckTimeout() { m.ackTimeouts.Inc() }

// Panic counts a handler panic.
func (m *Metrics) Panic() { m.panics.Inc() }

// namespace returns the series of nsp, creating them while fewer than
// MaxNamespaceLabels exist. Entries are never removed, so a name that once
// mapped to the OtherNamespace series keeps doing so and a gauge is always
// decremented where it was incremented. Only names beyond the limit take the
// lock on every call.
func (m *Metrics) namespace(nsp string) *nspSeries {
	if s, ok := m.nsps.Load(nsp); ok {
		return s.(*nspSeries)
	}
	m.nspMu.Lock()
	defer m.nspMu.Unlock()
	if s, ok := m.nsps.Load(nsp); ok {
		return s.(*nspSeries)
	}
	if m.nspN >= MaxNamespaceLabels {
		if m.nspRest == nil {
			m.nspRest = m.newNspSeries(OtherNamespace)
		}
		return m.nspRest
	}
	s := m.newNspSeries(nsp)
	m.nsps.Store(nsp, s)
	m.nspN++
	return s
}

func (m *Metrics) newNspSeries(label string) *nspSeries {
	return &nspSeries{
		sockets:   m.sockets.WithLabelValues(label),
		connected: m.socketsConn.WithLabelValues(label),
	}
}
