package engine

import (
	"context"
	"hash/maphash"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const shardCount = 32

type shard struct {
	mu       sync.Mutex
	sessions map[string]*Session
}

// Server is an Engine.IO v4 server. It is an http.Handler: mount it on the
// path the clients use (for Socket.IO, "/socket.io/").
type Server struct {
	cfg      Config
	upgrader websocket.Upgrader
	seed     maphash.Seed
	shards   [shardCount]shard
	count    atomic.Int64
	closed   atomic.Bool
	// gate orders requests against Shutdown: a request counts itself in
	// wg before Shutdown starts waiting (so whatever goroutines it starts
	// are waited for too), or finds the server closed.
	gate     sync.RWMutex
	done     chan struct{} // closed by Shutdown; stops the reaper
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// NewServer returns a Server for cfg. Call Shutdown to stop it: it owns a
// background goroutine.
func NewServer(cfg Config) *Server {
	srv := &Server{cfg: cfg.withDefaults(), seed: maphash.MakeSeed(), done: make(chan struct{})}
	for i := range srv.shards {
		srv.shards[i].sessions = make(map[string]*Session)
	}
	srv.upgrader = websocket.Upgrader{
		// gorilla only does the upgrade handshake: its Conn is dropped at
		// once and the raw connection read and written by the engine. So no
		// buffer of its own: a zero ReadBufferSize reuses net/http's
		// hijacked reader, and an (always empty) WriteBufferPool keeps it
		// from setting up a writer; both would be garbage per handshake.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     func(*http.Request) bool { return true }, // checked in ServeHTTP
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			http.Error(w, reason.Error(), status)
		},
	}
	srv.wg.Add(1)
	go srv.reapLoop()
	return srv
}

// Config returns the server's configuration with defaults applied.
func (srv *Server) Config() Config { return srv.cfg }

// Len returns the number of live sessions.
func (srv *Server) Len() int { return int(srv.count.Load()) }

func (srv *Server) shardOf(id string) *shard {
	return &srv.shards[maphash.String(srv.seed, id)%shardCount]
}

func (srv *Server) add(s *Session) bool {
	if srv.closed.Load() {
		return false
	}
	sh := srv.shardOf(s.id)
	sh.mu.Lock()
	sh.sessions[s.id] = s
	sh.mu.Unlock()
	srv.count.Add(1)
	return true
}

func (srv *Server) remove(s *Session) {
	sh := srv.shardOf(s.id)
	sh.mu.Lock()
	if sh.sessions[s.id] == s {
		delete(sh.sessions, s.id)
		srv.count.Add(-1)
	}
	sh.mu.Unlock()
}

// Session returns the live session with id, or nil.
func (srv *Server) Session(id string) *Session {
	sh := srv.shardOf(id)
	sh.mu.Lock()
	s := sh.sessions[id]
	sh.mu.Unlock()
	return s
}

func (srv *Server) open(s *Session) Receiver {
	if srv.cfg.OnOpen == nil {
		return nopReceiver{}
	}
	if r := srv.cfg.OnOpen(s); r != nil {
		return r
	}
	return nopReceiver{}
}

// ServeHTTP serves the Engine.IO endpoint.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv.gate.RLock()
	counted := !srv.closed.Load()
	if counted {
		srv.wg.Add(1)
	}
	srv.gate.RUnlock()
	if counted {
		defer srv.wg.Done()
	}
	if !srv.cors(w, r) {
		srv.reject(w, errForbidden)
		return
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	transport := q.Get("transport")
	if !srv.transportEnabled(transport) {
		srv.reject(w, errUnknownTransport)
		return
	}
	upgrade := websocket.IsWebSocketUpgrade(r)
	sid := q.Get("sid")
	if sid == "" {
		srv.handshake(w, r, q.Get("EIO"), transport, upgrade)
		return
	}
	s := srv.Session(sid)
	if s == nil {
		srv.reject(w, errUnknownSID)
		return
	}
	if transport == WebSocket {
		if !upgrade {
			srv.reject(w, errBadRequest)
			return
		}
		srv.serveProbe(w, r, s)
		return
	}
	if s.Transport() != Polling {
		srv.reject(w, errBadRequest) // transport mismatch: the session has upgraded
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.handleGet(w, r)
	case http.MethodPost:
		s.handlePost(w, r)
	default:
		srv.cfg.Metrics.Error("bad_method")
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func (srv *Server) reject(w http.ResponseWriter, e *requestError) {
	srv.cfg.Metrics.Error(errorKinds[e.code])
	e.write(w)
}

func (srv *Server) transportEnabled(t string) bool {
	switch t {
	case Polling:
		return !srv.cfg.DisablePolling
	case WebSocket:
		return !srv.cfg.DisableWebSocket
	}
	return false
}

func (srv *Server) handshake(w http.ResponseWriter, r *http.Request, eio, transport string, upgrade bool) {
	if r.Method != http.MethodGet {
		srv.reject(w, errBadHandshake)
		return
	}
	if transport == WebSocket && !upgrade {
		srv.reject(w, errBadRequest)
		return
	}
	if eio != "4" {
		srv.reject(w, errUnsupportedProto)
		return
	}
	if srv.closed.Load() {
		srv.reject(w, errServerUnavailable)
		return
	}
	if transport == WebSocket {
		srv.serveWebSocket(w, r)
		return
	}
	s := newSession(srv, Polling, srv.handshakeOf(r))
	s.recv = srv.open(s)
	if !srv.add(s) {
		s.close(ReasonServerShutdown, false)
		srv.reject(w, errServerUnavailable)
		return
	}
	srv.cfg.Metrics.SessionOpened(Polling)
	body := srv.openPacket(s.id, !srv.cfg.DisableUpgrades && !srv.cfg.DisableWebSocket)
	srv.cfg.Metrics.PacketsOut(1, len(body))
	writePollBody(w, r, body)
	s.startHeartbeat()
}

func (srv *Server) openPacket(sid string, upgrades bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, `0{"sid":"`...)
	b = append(b, sid...)
	if upgrades {
		b = append(b, `","upgrades":["websocket"],"pingInterval":`...)
	} else {
		b = append(b, `","upgrades":[],"pingInterval":`...)
	}
	b = strconv.AppendInt(b, srv.cfg.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, srv.cfg.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, srv.cfg.MaxPayload, 10)
	return append(b, '}')
}

func (srv *Server) handshakeOf(r *http.Request) *Handshake {
	q := r.URL.Query()
	query := make(map[string]string, len(q))
	for k, v := range q {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	return &Handshake{
		// Packed by newSession: the request's maps are not kept.
		Header:     r.Header,
		Query:      query,
		RemoteAddr: r.RemoteAddr,
		URL:        r.URL.RequestURI(),
		Secure:     r.TLS != nil,
		Time:       time.Now(),
	}
}

// cors applies the CORS policy; it reports false when the Origin is not allowed.
func (srv *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origins := srv.cfg.CORSOrigins
	if len(origins) == 0 {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser cross-origin request
	}
	any := slices.Contains(origins, "*")
	if !any && !slices.Contains(origins, origin) {
		return false
	}
	h := w.Header()
	if any && !srv.cfg.CORSCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	if srv.cfg.CORSCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
		h.Set("Access-Control-Max-Age", "86400")
	}
	return true
}

// Shutdown stops accepting sessions, closes every session with reason
// ReasonServerShutdown (flushing what is queued) and waits for the session
// goroutines to end or ctx to be done.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.gate.Lock()
	srv.closed.Store(true)
	srv.gate.Unlock()
	srv.stopOnce.Do(func() { close(srv.done) })
	srv.CloseAll(ReasonServerShutdown)
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		// Stop waiting politely: cut the connections that are left.
		srv.each(func(s *Session) {
			s.mu.Lock()
			ws := s.ws
			s.mu.Unlock()
			if ws != nil {
				_ = ws.Close()
			}
		})
		return ctx.Err()
	}
}

// CloseAll closes every session with reason, flushing queued frames.
func (srv *Server) CloseAll(reason string) {
	srv.each(func(s *Session) { s.close(reason, true) })
}

func (srv *Server) each(fn func(*Session)) {
	var list []*Session
	for i := range srv.shards {
		sh := &srv.shards[i]
		sh.mu.Lock()
		for _, s := range sh.sessions {
			list = append(list, s)
		}
		sh.mu.Unlock()
	}
	for _, s := range list {
		fn(s)
	}
}
