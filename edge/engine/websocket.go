package engine

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/switchboard-rt/switchboard/protocol/engineio"
)

// WebSocket opcodes of the frames the writer builds itself.
const (
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
)

// Frames larger than this are written from their own buffer instead of being
// copied into the coalescing buffer.
const largeFrame = 32 << 10

// opcode is the WebSocket opcode that carries f.
func (f *Frame) opcode() byte {
	switch {
	case f.control != 0:
		return f.control
	case f.Binary:
		return opBinary
	}
	return opText
}

// appendFrameHeader appends the header of an unmasked, final server frame.
func appendFrameHeader(dst []byte, op byte, n int) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, 0, 0)
		binary.BigEndian.PutUint16(dst[len(dst)-2:], uint16(n))
		return dst
	default:
		dst = append(dst, 127, 0, 0, 0, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint64(dst[len(dst)-8:], uint64(n))
		return dst
	}
}

// serveWebSocket upgrades r and runs a new WebSocket session.
func (srv *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	hs := srv.handshakeOf(r)
	ws, err := srv.upgrader.Upgrade(w, r, nil)
	if err != nil {
		srv.cfg.Metrics.Error("websocket_upgrade")
		return
	}
	// From here on the raw connection is used: gorilla's reader holds
	// nothing yet (it refuses clients that sent data before the handshake
	// completed), and dropping its Conn frees its buffers.
	conn := ws.NetConn()
	s := newSession(srv, WebSocket, hs)
	s.useWebSocketLocked(conn)
	// The receiver is in place before anyone can find the session, and the
	// session is registered before the client hears of it, so a Shutdown
	// racing this handshake closes it properly.
	s.recv = srv.open(s)
	if !srv.add(s) {
		s.close(ReasonServerShutdown, true)
		return
	}
	if err := s.SendNow(Frame{Data: srv.openPacket(s.id, false)}); err != nil {
		return // closed meanwhile (Shutdown), or the write failed and closed it
	}
	srv.cfg.Metrics.SessionOpened(WebSocket)
	srv.wg.Add(1)
	// A fresh goroutine starts with a small stack, unlike this one, which
	// net/http has grown: it matters for idle memory.
	go s.readLoop(conn, s.newReader(conn))
	s.startHeartbeat()
}

// serveProbe upgrades r for a polling session that wants to move to WebSocket.
func (srv *Server) serveProbe(w http.ResponseWriter, r *http.Request, s *Session) {
	s.mu.Lock()
	busy := s.state != stateOpen || s.transport != Polling || s.upgrading || srv.cfg.DisableUpgrades
	if !busy {
		s.upgrading = true
	}
	s.mu.Unlock()
	ws, err := srv.upgrader.Upgrade(w, r, nil)
	if err != nil {
		srv.cfg.Metrics.Error("websocket_upgrade")
		if !busy {
			s.mu.Lock()
			s.upgrading = false
			s.mu.Unlock()
		}
		return
	}
	if busy {
		// Like the reference: a session already upgrading or upgraded gets
		// its extra WebSocket closed right after the handshake.
		srv.cfg.Metrics.UpgradeFailed("busy")
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "session busy"), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	conn := ws.NetConn()
	s.mu.Lock()
	s.probe = conn
	s.mu.Unlock()
	srv.wg.Add(1)
	go s.probeLoop(conn)
}

// probeLoop runs the upgrade dance on conn: 2probe → 3probe, then 5 makes
// conn the session's transport. Anything else cancels the upgrade.
func (s *Session) probeLoop(conn net.Conn) {
	defer s.srv.wg.Done()
	nc := conn
	_ = nc.SetReadDeadline(time.Now().Add(s.srv.cfg.UpgradeTimeout))
	rd := s.newReader(nc)
	fail := func(reason string) {
		s.srv.cfg.Metrics.UpgradeFailed(reason)
		s.mu.Lock()
		if s.probe == conn {
			s.probe = nil
		}
		s.upgrading = false
		s.mu.Unlock()
		_ = nc.Close()
	}
	data, bin, err := rd.next()
	if err != nil {
		fail("probe_read")
		return
	}
	if bin || string(data) != "2probe" {
		fail("bad_probe")
		return
	}
	_ = nc.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
	if _, err := nc.Write(append(appendFrameHeader(nil, opText, len(pongProbe)), pongProbe...)); err != nil {
		fail("probe_write")
		return
	}
	// Make a pending GET re-check: it answers a noop within
	// upgradeNoopDelay unless the upgrade completes first, which lets the
	// client pause polling.
	s.mu.Lock()
	if s.getPending {
		s.wakeLocked()
	}
	s.mu.Unlock()

	data, bin, err = rd.next()
	if err != nil {
		fail("upgrade_read")
		return
	}
	if bin || string(data) != "5" {
		fail("bad_upgrade")
		return
	}
	s.mu.Lock()
	if s.state != stateOpen || s.probe != conn {
		s.mu.Unlock()
		fail("closed")
		return
	}
	s.probe = nil
	s.upgrading = false
	s.transport = WebSocket
	s.useWebSocketLocked(conn)
	// Release a GET that is still pending; later polling requests get 400.
	select {
	case s.pollWake <- struct{}{}:
	default:
	}
	s.srv.wg.Add(1) // this goroutine becomes the reader
	if len(s.queue) > 0 {
		s.kickWriterLocked()
	}
	s.mu.Unlock()
	_ = nc.SetReadDeadline(time.Time{})
	s.srv.cfg.Metrics.Upgraded()
	s.readLoop(nc, rd)
}

func (s *Session) newReader(nc net.Conn) *wsReader {
	rd := newWSReader(nc, s.srv.cfg.MaxPayload, func(payload []byte) {
		_ = s.Send(Frame{Data: payload, control: opPong})
	})
	rd.idleAfter = readerIdle
	return rd
}

// readerIdle is how long a WebSocket reader waits before it moves to a fresh
// goroutine (see readLoop). Variable for tests.
var readerIdle = 5 * time.Second

// readLoop reads messages until the connection fails, then closes the
// session. It is the only reader of the connection.
func (s *Session) readLoop(nc net.Conn, rd *wsReader) {
	closeConn := true
	defer func() {
		if closeConn {
			_ = nc.Close()
			s.srv.wg.Done()
		}
	}()
	for {
		rd.idle()
		data, bin, err := rd.next()
		if err != nil {
			switch {
			case err == errIdle && s.open():
				// Idle: go on from a fresh goroutine, whose stack is small;
				// this one may have grown its stack handling messages.
				go s.readLoop(nc, rd)
				closeConn = false
				return
			case err == errIdle:
				// Closing: the writer's close frame went out and the client
				// did not answer in time.
				s.close(ReasonTransportClose, false)
			case errors.Is(err, errFrameTooLarge):
				s.srv.cfg.Metrics.Error("payload_too_large")
				s.closeWS(nc, closeTooBig, ReasonTransportError)
			case errors.As(err, new(protocolError)):
				s.srv.cfg.Metrics.Error("websocket_protocol")
				s.closeWS(nc, closeProtocolError, ReasonTransportError)
			default:
				s.close(wsCloseReason(err), false)
			}
			return
		}
		s.srv.cfg.Metrics.PacketsIn(1, len(data))
		var p engineio.Packet
		if bin {
			p = engineio.BinaryMessage(data)
		} else {
			if !utf8.Valid(data) {
				s.srv.cfg.Metrics.Error("invalid_utf8")
				s.closeWS(nc, closeInvalidPayload, ReasonParseError)
				return
			}
			if p, err = engineio.DecodeText(data); err != nil {
				s.srv.cfg.Metrics.Error("parse_error")
				s.closeWS(nc, closeUnsupportedData, ReasonParseError)
				return
			}
		}
		if reason := s.onPacket(p); reason != "" {
			s.close(reason, false)
			return
		}
	}
}

// closeWS sends a close frame with code (best effort) and ends the session.
// One Write call writes the whole frame, so it cannot interleave with the
// writer's frames (the connection serialises Write calls).
func (s *Session) closeWS(nc net.Conn, code int, reason string) {
	msg := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(msg, uint16(code))
	msg = append(msg, reason...)
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write(append(appendFrameHeader(nil, opClose, len(msg)), msg...))
	s.close(reason, false)
}

func wsCloseReason(err error) string {
	switch {
	case errors.Is(err, errPeerClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return ReasonTransportClose
	default:
		return ReasonTransportError
	}
}

// useWebSocketLocked makes conn the session's transport for writing.
func (s *Session) useWebSocketLocked(nc net.Conn) {
	s.ws = nc
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			s.rc = rc
		}
	}
	s.wsWake = make(chan struct{}, 1)
	s.flush = func(frames []Frame) error { return s.writeFrames(nc, frames) }
	s.endWrite = func(ok bool) {
		if !ok {
			_ = nc.Close()
			return
		}
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_, _ = nc.Write(append(appendFrameHeader(nil, opClose, len(msg)), msg...))
		// The reader closes the connection when the client answers with its
		// close frame; if it does not, the connection is cut after a second.
		// (A timer, not a read deadline: the reader manages its own.)
		time.AfterFunc(time.Second, func() { _ = nc.Close() })
	}
}

func (s *Session) writeFrames(nc net.Conn, frames []Frame) error {
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= 256<<10 {
			*bp = buf[:0]
			bufPool.Put(bp)
		}
	}()
	// The write deadline is moved forward only when less than half of
	// WriteTimeout is left: a busy connection pays for it (a poller timer
	// update) every few seconds rather than on every write, and a write
	// still cannot block for more than WriteTimeout.
	if now, limit := time.Now(), s.srv.cfg.WriteTimeout; now.Add(limit/2).UnixNano() > s.writeDeadline {
		if err := nc.SetWriteDeadline(now.Add(limit)); err != nil {
			return err
		}
		s.writeDeadline = now.Add(limit).UnixNano()
	}
	total, packets := 0, len(frames)
	for _, f := range frames {
		if f.control == rawBytes {
			buf = append(buf, f.Data...) // counted as a packet when it was begun
			packets--
			continue
		}
		op := f.opcode()
		if len(f.Data) >= largeFrame {
			buf = appendFrameHeader(buf, op, len(f.Data))
			bufs := net.Buffers{buf, f.Data}
			if _, err := bufs.WriteTo(nc); err != nil {
				return err
			}
			total += len(buf) + len(f.Data)
			buf = buf[:0]
			continue
		}
		buf = appendFrameHeader(buf, op, len(f.Data))
		buf = append(buf, f.Data...)
	}
	if len(buf) > 0 {
		total += len(buf)
		if _, err := nc.Write(buf); err != nil {
			return err
		}
	}
	s.srv.cfg.Metrics.PacketsOut(packets, total)
	return nil
}
