package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/edge"
)

// Config configures a Gateway. The zero value works; each field states its default.
type Config struct {
	// Prefix is the subject prefix. Zero means "sb".
	Prefix string
	// Node names this edge in messages. Zero means a random id.
	Node string
	// AckTimeout bounds a service's answer to an event. Zero means 10s.
	AckTimeout time.Duration
	// AuthTimeout bounds an authentication request. Zero means 5s.
	AuthTimeout time.Duration
	// AuthNamespaces require P.auth.<ns> to accept a socket; "*" means all.
	AuthNamespaces []string
	// ServiceNamespaces route their events to NATS; empty means all.
	ServiceNamespaces []string
	// RequestTimeout bounds the cluster requests behind commands (join,
	// leave, disconnect, sockets). Zero means 5s.
	RequestTimeout time.Duration
	// Queue is the queue group of the edges for commands. Zero means "switchboard-edges".
	Queue string
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
	// Metrics observes the gateway. Nil means no metrics.
	Metrics Metrics
}

// Metrics observes a Gateway.
type Metrics interface {
	// Event counts client events by outcome: "published", "ok", and the
	// error codes ("service_error", "timeout", "no_responders",
	// "unavailable", "too_large").
	Event(outcome string)
	// Command counts commands by name and outcome ("ok" or an error code).
	Command(name, outcome string)
	// Auth counts authentications by outcome ("ok", "refused", "unavailable").
	Auth(outcome string)
}

type nopMetrics struct{}

func (nopMetrics) Event(string)           {}
func (nopMetrics) Command(string, string) {}
func (nopMetrics) Auth(string)            {}

// Gateway is the services bridge of one edge server.
type Gateway struct {
	srv  *edge.Server
	nc   *nats.Conn
	cfg  Config
	subj contract.Subjects

	inbox string
	subs  []*nats.Subscription

	mu      sync.Mutex
	next    uint64
	pending map[uint64]*pendingEvent
	// expiries lists the pending events' deadlines in the order sent;
	// entries before expHead are done.
	expiries  []expiry
	expHead   int
	stop      chan struct{}
	subjects  sync.Map // eventKey → the event's subject string
	nSubjects atomic.Int64
	closed    bool
	wg        sync.WaitGroup
}

type pendingEvent struct {
	e *edge.Event
}

// New attaches a gateway to srv over nc. Close it before closing nc.
func New(srv *edge.Server, nc *nats.Conn, cfg Config) (*Gateway, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = contract.DefaultPrefix
	}
	if !contract.ValidPrefix(cfg.Prefix) {
		return nil, fmt.Errorf("gateway: invalid subject prefix %q", cfg.Prefix)
	}
	if cfg.Node == "" {
		cfg.Node = nats.NewInbox()[len("_INBOX."):]
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 10 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = 5 * time.Second
	}
	if cfg.Queue == "" {
		cfg.Queue = "switchboard-edges"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	g := &Gateway{
		srv:     srv,
		nc:      nc,
		cfg:     cfg,
		subj:    contract.Subjects{Prefix: cfg.Prefix},
		inbox:   nats.NewInbox(),
		pending: make(map[uint64]*pendingEvent),
		stop:    make(chan struct{}),
	}
	sub, err := nc.Subscribe(g.inbox+".*", g.onReply)
	if err != nil {
		return nil, fmt.Errorf("gateway: subscribe replies: %w", err)
	}
	g.subs = append(g.subs, sub)
	if err := g.subscribeCommands(); err != nil {
		g.unsubscribe()
		return nil, err
	}
	// One round trip so that the server has the subscriptions before the
	// edge reports ready (a P.bcast published then reaches it). While NATS
	// is away there is nothing to wait for: they are sent on connection.
	if nc.IsConnected() {
		if err := nc.FlushTimeout(2 * time.Second); err != nil {
			g.cfg.Logger.Warn("gateway: NATS did not confirm the subscriptions", "error", err)
		}
	}
	srv.Use(g.authenticate)
	srv.OnConnection(g.onConnect)
	srv.OnDisconnect(g.onDisconnect)
	srv.OnAny(g.onEvent)
	g.wg.Add(1)
	go g.sweepLoop()
	return g, nil
}

type eventKey struct{ ns, event string }

// eventSubject returns P.ev.<ns>.<event>, built once per pair: a client's
// events name few distinct pairs, and building one costs allocations.
// The cache is bounded: past maxCachedSubjects pairs, subjects are built
// each time (a client sending random event names cannot grow it).
func (g *Gateway) eventSubject(ns, event string) string {
	k := eventKey{ns, event}
	if v, ok := g.subjects.Load(k); ok {
		return v.(string)
	}
	s := g.subj.Event(ns, event)
	if g.nSubjects.Load() < maxCachedSubjects {
		if _, loaded := g.subjects.LoadOrStore(k, s); !loaded {
			g.nSubjects.Add(1)
		}
	}
	return s
}

const maxCachedSubjects = 4096

// Node returns the node id the gateway reports.
func (g *Gateway) Node() string { return g.cfg.Node }

// Ready reports whether the NATS connection is up.
func (g *Gateway) Ready() error {
	if st := g.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("gateway: NATS connection %s", st)
	}
	return nil
}

// Close stops taking commands and answers every waiting event with an
// "unavailable" error. It waits for running command handlers.
func (g *Gateway) Close() {
	g.unsubscribe()
	g.mu.Lock()
	g.closed = true
	pend := g.pending
	g.pending = map[uint64]*pendingEvent{}
	g.mu.Unlock()
	for _, p := range pend {
		ackError(p.e, contract.CodeUnavailable, "edge shutting down")
	}
	close(g.stop)
	g.wg.Wait()
}

func (g *Gateway) unsubscribe() {
	for _, s := range g.subs {
		_ = s.Unsubscribe()
	}
}

func (g *Gateway) serves(ns string) bool {
	return len(g.cfg.ServiceNamespaces) == 0 || slices.Contains(g.cfg.ServiceNamespaces, ns)
}

func (g *Gateway) authRequired(ns string) bool {
	return slices.Contains(g.cfg.AuthNamespaces, "*") || slices.Contains(g.cfg.AuthNamespaces, ns)
}

// onEvent forwards a client event to the services.
func (g *Gateway) onEvent(e *edge.Event) {
	s := e.Socket
	ns := s.Namespace().Name()
	if !g.serves(ns) {
		return
	}
	ev := contract.Event{
		SID: s.ID(), NS: ns, Event: e.Name,
		Args: e.Args.JSON(), Attachments: e.Args.Attachments(),
		Node: g.cfg.Node, Data: s.DataJSON(), User: s.User(),
	}
	body := ev.AppendJSON(make([]byte, 0, 128+len(ev.Args)))
	if int64(len(body)) > g.nc.MaxPayload() {
		g.fail(e, contract.CodeTooLarge, fmt.Sprintf("event of %d bytes exceeds the NATS max payload of %d", len(body), g.nc.MaxPayload()))
		return
	}
	subject := g.eventSubject(ns, e.Name)
	if !e.WantsAck() {
		if err := g.nc.Publish(subject, body); err != nil {
			g.cfg.Metrics.Event(contract.CodeUnavailable)
			g.cfg.Logger.Warn("gateway: publish event", "subject", subject, "error", err)
			return
		}
		g.cfg.Metrics.Event("published")
		return
	}
	if g.nc.Status() != nats.CONNECTED {
		g.fail(e, contract.CodeUnavailable, "services unavailable")
		return
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		g.fail(e, contract.CodeUnavailable, "edge shutting down")
		return
	}
	g.next++
	id := g.next
	g.pending[id] = &pendingEvent{e: e}
	g.expiries = append(g.expiries, expiry{id: id, at: time.Now().Add(g.cfg.AckTimeout)})
	g.mu.Unlock()
	if err := g.nc.PublishRequest(subject, g.inbox+"."+strconv.FormatUint(id, 10), body); err != nil {
		if g.take(id) != nil {
			g.fail(e, contract.CodeUnavailable, err.Error())
		}
	}
}

func (g *Gateway) take(id uint64) *pendingEvent {
	g.mu.Lock()
	p := g.pending[id]
	delete(g.pending, id)
	g.mu.Unlock()
	return p
}

// onReply matches a service's reply to its event.
func (g *Gateway) onReply(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
	if err != nil {
		return
	}
	p := g.take(id)
	if p == nil {
		return // timed out already
	}
	if m.Header.Get("Status") == "503" {
		g.fail(p.e, contract.CodeNoResponders, "no service handles "+p.e.Name)
		return
	}
	var r contract.EventReply
	if err := r.UnmarshalJSON(m.Data); err != nil {
		g.fail(p.e, contract.CodeServiceError, "malformed reply: "+err.Error())
		return
	}
	if r.Error != nil {
		// The contract gives clients one code for every service failure;
		// the service's own code stays between services and logs.
		g.cfg.Metrics.Event(contract.CodeServiceError)
		g.cfg.Logger.Debug("gateway: service error", "event", p.e.Name, "code", r.Error.Code, "message", r.Error.Message)
		ackError(p.e, contract.CodeServiceError, r.Error.Message)
		return
	}
	var args edge.Args
	if len(r.Args) > 0 {
		if args, err = edge.RawArgs(r.Args, r.Attachments); err != nil {
			g.fail(p.e, contract.CodeServiceError, "malformed reply args: "+err.Error())
			return
		}
	}
	s := p.e.Socket
	if len(r.Leave) > 0 {
		s.Leave(r.Leave...)
	}
	if len(r.Join) > 0 {
		s.Join(r.Join...)
	}
	g.cfg.Metrics.Event("ok")
	if len(r.Args) > 0 {
		_ = p.e.Ack(args)
	} else {
		_ = p.e.Ack()
	}
}

// fail answers e (if it wants an answer) with an error and counts it.
func (g *Gateway) fail(e *edge.Event, code, msg string) {
	g.cfg.Metrics.Event(code)
	ackError(e, code, msg)
}

// ackError answers an event with the contract's error shape: one argument
// {"error":{"code","message"}}.
func ackError(e *edge.Event, code, msg string) {
	_ = e.Ack(contract.ErrorReply{Error: &contract.Error{Code: code, Message: msg}})
}

func handshakeOf(s *edge.Socket, withAuth bool) contract.Handshake {
	h := s.Handshake()
	hs := contract.Handshake{Headers: h.Headers, Query: h.Query, Address: h.Address, URL: h.URL}
	if withAuth {
		hs.Auth = h.Auth
	}
	return hs
}

func (g *Gateway) onConnect(s *edge.Socket) {
	ns := s.Namespace().Name()
	if !g.serves(ns) {
		return
	}
	g.publish(g.subj.Conn(ns), contract.Conn{
		SID: s.ID(), NS: ns, Node: g.cfg.Node, Handshake: handshakeOf(s, true),
		Data: s.DataJSON(), User: s.User(), Recovered: s.Recovered(),
	})
}

func (g *Gateway) onDisconnect(s *edge.Socket, reason string) {
	ns := s.Namespace().Name()
	if !g.serves(ns) {
		return
	}
	g.publish(g.subj.Disc(ns), contract.Disc{
		SID: s.ID(), NS: ns, Node: g.cfg.Node, Reason: reason, Data: s.DataJSON(), User: s.User(),
	})
}

func (g *Gateway) publish(subject string, v any) {
	body, err := json.Marshal(v)
	if err == nil {
		err = g.nc.Publish(subject, body)
	}
	if err != nil {
		g.cfg.Logger.Warn("gateway: publish", "subject", subject, "error", err)
	}
}

// authenticate asks P.auth.<ns> whether a socket may connect.
func (g *Gateway) authenticate(s *edge.Socket) error {
	ns := s.Namespace().Name()
	if !g.authRequired(ns) {
		return nil
	}
	body, err := json.Marshal(contract.AuthRequest{
		SID: s.ID(), NS: ns, Auth: s.Handshake().Auth, Handshake: handshakeOf(s, false), Node: g.cfg.Node,
	})
	if err != nil {
		return err
	}
	m, err := g.nc.Request(g.subj.Auth(ns), body, g.cfg.AuthTimeout)
	if err != nil {
		g.cfg.Metrics.Auth("unavailable")
		g.cfg.Logger.Warn("gateway: authentication unavailable", "ns", ns, "error", err)
		return &edge.ConnectError{Message: "authentication unavailable"}
	}
	var r contract.AuthReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		g.cfg.Metrics.Auth("unavailable")
		return &edge.ConnectError{Message: "authentication unavailable"}
	}
	if !r.OK {
		g.cfg.Metrics.Auth("refused")
		msg := r.Message
		if msg == "" {
			msg = "unauthorized"
		}
		ce := &edge.ConnectError{Message: msg}
		if len(r.Data) > 0 {
			ce.Data = r.Data
		}
		return ce
	}
	g.cfg.Metrics.Auth("ok")
	if len(r.Data) > 0 {
		s.SetData(r.Data)
	}
	if r.User != "" {
		s.SetUser(r.User)
	}
	if len(r.Join) > 0 {
		s.Join(r.Join...)
	}
	return nil
}

var errUnknownNamespace = errors.New("unknown namespace")
