package edge

import (
	"context"
	"net/http"
	"regexp"
	"sync"

	"github.com/switchboard-rt/switchboard/edge/engine"
)

// Server is a Socket.IO v5 server. It is an http.Handler: mount it at the
// path clients use, "/socket.io/" by default:
//
//	srv := edge.New(edge.Config{})
//	http.Handle("/socket.io/", srv)
type Server struct {
	cfg      Config
	eng      *engine.Server
	recovery *recovery
	fan      fanout

	mu       sync.RWMutex
	nsps     map[string]*Namespace
	dynamics []dynamic

	hmu          sync.RWMutex // server-wide hooks
	middlewares  []Middleware
	onConnect    []func(*Socket)
	onDisconnect []func(*Socket, string)
	anyHandler   Handler
}

// Use adds a middleware that runs for every namespace, before the
// namespace's own.
func (srv *Server) Use(mw Middleware) {
	srv.hmu.Lock()
	srv.middlewares = append(srv.middlewares, mw)
	srv.hmu.Unlock()
}

// OnConnection registers fn to run for every socket of every namespace,
// before the namespace's own callbacks.
func (srv *Server) OnConnection(fn func(*Socket)) {
	srv.hmu.Lock()
	srv.onConnect = append(srv.onConnect, fn)
	srv.hmu.Unlock()
}

// OnDisconnect registers fn to run when any socket disconnects.
func (srv *Server) OnDisconnect(fn func(s *Socket, reason string)) {
	srv.hmu.Lock()
	srv.onDisconnect = append(srv.onDisconnect, fn)
	srv.hmu.Unlock()
}

// OnAny registers the handler of events that no socket or namespace handler
// takes, in every namespace.
func (srv *Server) OnAny(h Handler) {
	srv.hmu.Lock()
	srv.anyHandler = h
	srv.hmu.Unlock()
}

func (srv *Server) hooks() ([]Middleware, []func(*Socket), Handler) {
	srv.hmu.RLock()
	defer srv.hmu.RUnlock()
	return srv.middlewares, srv.onConnect, srv.anyHandler
}

type dynamic struct {
	re     *regexp.Regexp
	parent *Namespace
}

// New returns a Server for cfg. The root namespace "/" always exists.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	srv := &Server{cfg: cfg, nsps: make(map[string]*Namespace)}
	if cfg.Recovery {
		srv.recovery = newRecovery(cfg.MaxDisconnection)
	}
	srv.eng = engine.NewServer(engine.Config{
		PingInterval:     cfg.PingInterval,
		PingTimeout:      cfg.PingTimeout,
		MaxPayload:       cfg.MaxHTTPBufferSize,
		MaxQueueBytes:    cfg.MaxQueueBytes,
		CORSOrigins:      cfg.CORSOrigins,
		CORSCredentials:  cfg.CORSCredentials,
		DisablePolling:   cfg.DisablePolling,
		DisableWebSocket: cfg.DisableWebSocket,
		Logger:           cfg.Logger,
		Metrics:          cfg.Metrics,
		OnOpen:           func(s *engine.Session) engine.Receiver { return srv.newConn(s) },
	})
	srv.Of("/")
	return srv
}

// ServeHTTP serves the Engine.IO endpoint.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { srv.eng.ServeHTTP(w, r) }

// Of returns the namespace name, creating it if needed ("" means "/").
func (srv *Server) Of(name string) *Namespace {
	if name == "" {
		name = "/"
	} else if name[0] != '/' {
		name = "/" + name
	}
	srv.mu.Lock()
	n := srv.nsps[name]
	created := n == nil
	if created {
		n = newNamespace(srv, name)
		srv.nsps[name] = n
	}
	srv.mu.Unlock()
	if created {
		srv.attach(n)
	}
	return n
}

// Namespace returns the existing namespace name, without creating it.
func (srv *Server) Namespace(name string) (*Namespace, bool) {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	n, ok := srv.nsps[name]
	return n, ok
}

// OfPattern declares dynamic namespaces: a client connecting to a namespace
// that does not exist and whose name matches re gets it created on the fly.
// The returned group's middlewares and connection handlers apply to every
// namespace created from it.
func (srv *Server) OfPattern(re *regexp.Regexp) *Namespace {
	parent := newNamespace(srv, re.String())
	srv.mu.Lock()
	srv.dynamics = append(srv.dynamics, dynamic{re: re, parent: parent})
	srv.mu.Unlock()
	return parent
}

// lookup returns the namespace a client may connect to, creating a dynamic
// one if a pattern matches, or nil.
func (srv *Server) lookup(name string) *Namespace {
	srv.mu.RLock()
	n := srv.nsps[name]
	dyn := srv.dynamics
	srv.mu.RUnlock()
	if n != nil {
		return n
	}
	for _, d := range dyn {
		if d.re.MatchString(name) {
			srv.mu.Lock()
			n = srv.nsps[name]
			created := n == nil
			if created {
				n = newNamespace(srv, name)
				n.parent = d.parent
				srv.nsps[name] = n
			}
			srv.mu.Unlock()
			if created {
				srv.attach(n)
			}
			return n
		}
	}
	return nil
}

// Namespaces returns the names of the existing namespaces.
func (srv *Server) Namespaces() []string {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	out := make([]string, 0, len(srv.nsps))
	for name := range srv.nsps {
		out = append(out, name)
	}
	return out
}

// Sessions returns the number of live Engine.IO sessions.
func (srv *Server) Sessions() int { return srv.eng.Len() }

// Shutdown stops accepting connections, disconnects every socket with
// reason "server shutting down" (clients reconnect, to another node if
// there is one), and waits for the connection goroutines or ctx.
func (srv *Server) Shutdown(ctx context.Context) error {
	err := srv.eng.Shutdown(ctx)
	srv.detachAll()
	if srv.recovery != nil {
		srv.recovery.stop()
	}
	return err
}
