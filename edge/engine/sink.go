package engine

import "net/http"

// OpenSink opens a session whose transport is a function instead of a
// network connection: frames queued to the session are handed to write, in
// order and coalesced, by the session's writer goroutine, exactly as they
// would be written to a WebSocket. Messages from the "client" are injected
// with Deliver. It serves in-process clients, tests and benchmarks of
// everything above the wire. close is called once when the session ends.
func (srv *Server) OpenSink(hs *Handshake, write func([]Frame) error, close func()) (*Session, error) {
	if hs == nil {
		hs = &Handshake{Header: http.Header{}, Query: map[string]string{}}
	}
	s := newSession(srv, WebSocket, hs)
	s.wsWake = make(chan struct{}, 1)
	s.flush = write
	s.endWrite = func(bool) {
		if close != nil {
			close()
		}
	}
	s.recv = srv.open(s)
	if !srv.add(s) {
		s.close(ReasonServerShutdown, false)
		return nil, ErrServerClosed
	}
	srv.cfg.Metrics.SessionOpened(WebSocket)
	s.startHeartbeat()
	return s, nil
}

// Deliver hands a message to the session's receiver as if the client had
// sent it; it is meant for sessions opened with OpenSink.
func (s *Session) Deliver(data []byte, binary bool) {
	s.recvMu.Lock()
	s.recv.OnMessage(data, binary)
	s.recvMu.Unlock()
}

// Pong answers the session's pending ping, as a client would.
func (s *Session) Pong() { s.pong() }
