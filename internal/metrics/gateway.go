package metrics

import "github.com/prometheus/client_golang/prometheus"

// Gateway implements gateway.Metrics: the services bridge over NATS.
type Gateway struct {
	events   *prometheus.CounterVec
	commands *prometheus.CounterVec
	auths    *prometheus.CounterVec
}

// NewGateway returns gateway metrics registered with reg (nil: not registered).
func NewGateway(reg prometheus.Registerer) *Gateway {
	g := &Gateway{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_service_events_total",
			Help: "Client events routed to services over NATS, by outcome (published, ok, service_error, timeout, no_responders, unavailable, too_large, bad_request).",
		}, []string{"outcome"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_service_commands_total",
			Help: "Commands from services (emit, join, leave, disconnect, sockets, presence, bcast), by outcome.",
		}, []string{"command", "outcome"}),
		auths: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_service_auth_total",
			Help: "Namespace authentications asked of the auth service, by outcome (ok, refused, unavailable).",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(g.events, g.commands, g.auths)
	}
	return g
}

// Event counts a client event by outcome.
func (g *Gateway) Event(outcome string) { g.events.WithLabelValues(outcome).Inc() }

// Command counts a command by name and outcome.
func (g *Gateway) Command(name, outcome string) { g.commands.WithLabelValues(name, outcome).Inc() }

// Auth counts an authentication by outcome.
func (g *Gateway) Auth(outcome string) { g.auths.WithLabelValues(outcome).Inc() }
