package edge

import (
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/edge/engine"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// conn is the Socket.IO side of one Engine.IO session: it decodes packets,
// reassembles binary ones and routes them to the sockets of the session,
// one per namespace. It implements engine.Receiver, so its methods run one at
// a time on the session's read goroutine (OnClose excepted).
type conn struct {
	srv  *Server
	sess *engine.Session
	dec  socketio.Decoder

	connectTimer *time.Timer
	attachTimer  *time.Timer

	mu      sync.Mutex
	closed  bool
	sockets []*Socket // one per namespace; a slice: connections join few namespaces
}

func (srv *Server) newConn(sess *engine.Session) *conn {
	c := &conn{
		srv:  srv,
		sess: sess,
		dec: socketio.Decoder{
			MaxAttachments:     srv.cfg.MaxAttachments,
			MaxAttachmentBytes: srv.cfg.MaxAttachmentBytes,
		},
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connectTimer = time.AfterFunc(srv.cfg.ConnectTimeout, func() {
		c.mu.Lock()
		idle := len(c.sockets) == 0
		c.mu.Unlock()
		if idle {
			srv.cfg.Metrics.Error("connect_timeout")
			sess.CloseWithReason(engine.ReasonTransportClose, false)
		}
	})
	return c
}

// OnMessage implements engine.Receiver.
func (c *conn) OnMessage(data []byte, binary bool) {
	var (
		p   socketio.Packet
		ok  bool
		err error
	)
	if binary {
		p, ok, err = c.dec.Binary(data)
	} else {
		p, ok, err = c.dec.Text(data)
	}
	if err != nil {
		c.protocolError("decode", err)
		return
	}
	if !ok {
		if c.attachTimer == nil {
			c.attachTimer = time.AfterFunc(c.srv.cfg.AttachmentTimeout, func() {
				c.srv.cfg.Metrics.Error("attachment_timeout")
				c.sess.CloseWithReason(engine.ReasonParseError, false)
			})
		}
		return
	}
	if c.attachTimer != nil {
		c.attachTimer.Stop()
		c.attachTimer = nil
	}
	c.dispatch(&p)
}

func (c *conn) protocolError(kind string, err error) {
	c.srv.cfg.Metrics.Error(kind)
	c.srv.cfg.Logger.Debug("edge: closing connection", "sid", c.sess.ID(), "error", err)
	c.sess.CloseWithReason(engine.ReasonParseError, false)
}

func (c *conn) dispatch(p *socketio.Packet) {
	c.mu.Lock()
	s := c.socketLocked(p.Namespace)
	c.mu.Unlock()
	switch p.Type {
	case socketio.Connect:
		if s != nil {
			c.protocolError("invalid_state", nil)
			return
		}
		c.connect(p.Namespace, p.Data)
	case socketio.Disconnect:
		if s == nil {
			c.protocolError("invalid_state", nil)
			return
		}
		c.removeSocket(s)
		s.onClose(ReasonClientNamespaceDisconnect)
	case socketio.Event, socketio.BinaryEvent:
		if s == nil {
			c.protocolError("invalid_state", nil)
			return
		}
		s.onEvent(p)
	case socketio.Ack, socketio.BinaryAck:
		if s == nil {
			c.protocolError("invalid_state", nil)
			return
		}
		s.onAck(p)
	default: // a client never sends CONNECT_ERROR
		c.protocolError("invalid_state", nil)
	}
}

// connect runs the CONNECT of namespace name with auth payload auth.
func (c *conn) connect(name string, auth []byte) {
	nsp := c.srv.lookup(name)
	if nsp == nil {
		c.srv.cfg.Metrics.Error("invalid_namespace")
		c.sendConnectError(name, []byte(`{"message":"Invalid namespace"}`))
		return
	}
	if len(auth) == 0 {
		auth = []byte("{}")
	}
	var s *Socket
	if rec := c.srv.recovery; rec != nil {
		s = rec.restore(c, nsp, auth)
	}
	restored := s != nil
	if !restored {
		s = &Socket{id: c.srv.newSocketID(), nsp: nsp, conn: c, auth: auth}
		if c.srv.recovery != nil {
			s.pid = engine.NewID()
		}
	}
	mws, onConnect := nsp.hooks()
	if !restored || c.srv.cfg.RecoveryRunsMiddlewares {
		for _, mw := range mws {
			var err error
			s.safelyNoDisconnect(func() { err = mw(s) })
			if err != nil {
				c.sendConnectError(name, connectErrorPayload(err))
				return
			}
		}
	}
	c.mu.Lock()
	if c.closed || c.socketLocked(name) != nil {
		c.mu.Unlock()
		return
	}
	c.sockets = append(c.sockets, s)
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil // a stopped timer still costs memory
	}
	c.mu.Unlock()

	s.mu.Lock()
	s.connected = true
	if !slices.Contains(s.rooms, s.id) {
		s.rooms = slices.Insert(s.rooms, 0, s.id)
	}
	rooms := slices.Clone(s.rooms)
	s.mu.Unlock()
	if restored {
		// Like the reference, missed packets go before the CONNECT reply;
		// the client buffers events until it is connected.
		nsp.addRestored(s, rooms, c.srv.recovery)
	} else {
		nsp.add(s, rooms)
	}
	s.trackConnect(rooms)

	reply := make([]byte, 0, 64)
	reply = append(reply, `{"sid":"`...)
	reply = append(reply, s.id...)
	if s.pid != "" {
		reply = append(reply, `","pid":"`...)
		reply = append(reply, s.pid...)
	}
	reply = append(reply, `"}`...)
	// This runs on the read goroutine, which may write to its own client
	// directly: an idle connection then never needs a writer goroutine.
	_ = c.sess.SendNow(frames(&socketio.Packet{Type: socketio.Connect, Namespace: name, Data: reply})...)
	c.srv.cfg.Metrics.SocketConnected(name)
	for _, fn := range onConnect {
		s.safely(func() { fn(s) })
	}
}

func (c *conn) sendConnectError(name string, payload []byte) {
	_ = c.sess.SendNow(frames(&socketio.Packet{Type: socketio.ConnectError, Namespace: name, Data: payload})...)
}

func (c *conn) handshake(auth []byte) *Handshake {
	h := c.sess.Handshake()
	return &Handshake{
		Headers: h.Header,
		Query:   h.Query,
		Address: h.RemoteAddr,
		URL:     h.URL,
		Secure:  h.Secure,
		Time:    h.Time,
		Auth:    json.RawMessage(auth),
	}
}

// socketLocked returns the socket of namespace name; c.mu is held.
func (c *conn) socketLocked(name string) *Socket {
	for _, s := range c.sockets {
		if s.nsp.name == name {
			return s
		}
	}
	return nil
}

func (c *conn) removeSocket(s *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, s); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// disconnectAll sends DISCONNECT for every namespace, then closes the session.
func (c *conn) disconnectAll() {
	c.mu.Lock()
	list := c.sockets
	c.sockets = nil
	c.mu.Unlock()
	for _, s := range list {
		_ = s.send(&socketio.Packet{Type: socketio.Disconnect, Namespace: s.nsp.name}, false)
		s.onClose(ReasonServerNamespaceDisconnect)
	}
	c.sess.Close()
}

// OnClose implements engine.Receiver.
func (c *conn) OnClose(reason string) {
	c.mu.Lock()
	if c.connectTimer != nil {
		c.connectTimer.Stop()
	}
	c.closed = true
	list := c.sockets
	c.sockets = nil
	c.mu.Unlock()
	for _, s := range list {
		s.onClose(reason)
	}
}
