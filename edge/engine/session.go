package engine

import (
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-rt/switchboard/protocol/engineio"
)

// Frame is one outbound Engine.IO packet. For a text frame, Data is the whole
// Engine.IO packet, type digit first (a Socket.IO packet is "4" followed by its
// encoding), so the same bytes go into a WebSocket frame or a polling payload
// without copying. For a binary frame, Data is the raw bytes of a message.
// A queued Frame must not be modified: it may be shared by many sessions.
type Frame struct {
	Data   []byte
	Binary bool

	control byte // a WebSocket control opcode (pong), for frames of the engine's own; or rawBytes
}

// rawBytes marks a frame whose Data is already WebSocket bytes: the rest of
// a frame that a non-blocking write left unwritten.
const rawBytes = 0xff

var (
	pingFrame  = Frame{Data: []byte("2")}
	pongProbe  = []byte("3probe")
	closeFrame = Frame{Data: []byte("1")}
	noopFrame  = Frame{Data: []byte("6")}
)

// Transport names, as in the protocol's query parameter.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

type state uint8

const (
	stateOpen    state = iota
	stateClosing       // closed for the application; a polling client may still collect the close packet
	stateClosed
)

// Handshake describes the request that opened a session.
type Handshake struct {
	Header     http.Header
	Query      map[string]string
	RemoteAddr string
	URL        string
	Secure     bool
	Time       time.Time
}

// Session is one Engine.IO session.
type Session struct {
	srv       *Server
	id        string
	handshake packedHandshake
	recv      Receiver
	recvMu    sync.Mutex // serialises deliveries from POSTs and the WebSocket reader

	mu          sync.Mutex
	state       state
	transport   string
	upgrading   bool
	probe       net.Conn
	queue       []Frame
	spare       []Frame
	queueBytes  int
	closeReason string
	overflowed  bool // the queue overflowed; the session is being closed
	clientClose bool // the client asked to close: a pending GET gets a noop, not a close packet

	// polling
	getPending  bool
	postPending bool
	pollWake    chan struct{}
	noopPending bool

	// websocket (and sink) writing: see writer.go
	ws         net.Conn            // the WebSocket's connection (gorilla's Conn is dropped after the upgrade)
	flush      func([]Frame) error // writes frames to the transport; nil until there is one
	endWrite   func(ok bool)       // called once by the writer when the session is over
	wsWake     chan struct{}
	writerUp   bool // a writer goroutine exists
	writerDone bool // the writer has finished for good
	writing    bool // a write is in progress (writer goroutine or SendNow)
	idleMark   bool // set by the reaper, cleared by every write
	exitWriter bool // asks an idle writer goroutine to exit

	// heartbeat
	timer        *time.Timer
	awaitingPong bool
	graceUsed    bool

	// writeDeadline is the write deadline last set on the WebSocket (Unix
	// ns); only the goroutine holding s.writing touches it.
	writeDeadline int64
	// rc is the WebSocket's descriptor when it has one (TCP): frames for a
	// quiet session are then written by the sender itself (see sendInline).
	rc syscall.RawConn
	// lastWrite is when the transport was last written (monotonic ns, see
	// monoNow), under mu.
	lastWrite int64

	closeOnce sync.Once
	done      chan struct{}
}

func newSession(srv *Server, transport string, hs *Handshake) *Session {
	s := &Session{
		srv:       srv,
		id:        NewID(),
		handshake: packHandshake(hs),
		transport: transport,
		recv:      nopReceiver{},
		done:      make(chan struct{}),
	}
	if transport == Polling {
		s.pollWake = make(chan struct{}, 1)
	}
	return s
}

// ID returns the session id (the secret Engine.IO sid).
func (s *Session) ID() string { return s.id }

// Handshake returns the request that opened the session, a new copy on each
// call (nil for a sink opened without one).
func (s *Session) Handshake() *Handshake { return s.handshake.unpack() }

// Transport returns the current transport name.
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// open reports whether the session is still open.
func (s *Session) open() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateOpen
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Send queues frames to be written in order, as one unit: nothing queued by
// another goroutine lands between them. It returns ErrClosed after the session
// ended, and ErrSlowConsumer when the queue would exceed Config.MaxQueueBytes,
// in which case the session is closed. A WebSocket session that has been
// quiet for a moment gets the frames written at once, by the calling
// goroutine, with a write that never blocks (see inline.go).
func (s *Session) Send(frames ...Frame) error { return s.send(frames, true) }

// Queue is Send without the write on the calling goroutine: the frames are
// always left to the session's writer. A broadcast to many sessions in quick
// succession uses it, so that each writer gathers several broadcasts into
// one write instead of the broadcaster writing every frame on its own.
func (s *Session) Queue(frames ...Frame) error { return s.send(frames, false) }

func (s *Session) send(frames []Frame, inline bool) error {
	n := 0
	for i := range frames {
		n += len(frames[i].Data)
	}
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.overflowed {
		s.mu.Unlock()
		return ErrSlowConsumer
	}
	if s.queueBytes+n > s.srv.cfg.MaxQueueBytes && s.queueBytes > 0 {
		s.overflowed = true
		s.mu.Unlock()
		s.srv.cfg.Metrics.SlowConsumer()
		// Close on another goroutine: the sender may hold locks (a
		// broadcast iterating a room) that the close handlers need.
		s.srv.wg.Add(1)
		go func() {
			defer s.srv.wg.Done()
			s.close(ReasonSlowConsumer, false)
		}()
		return ErrSlowConsumer
	}
	if inline && s.inlineOKLocked(n) {
		if !s.sendInlineLocked(frames) {
			return ErrClosed
		}
		return nil
	}
	s.queue = append(s.queue, frames...)
	s.queueBytes += n
	s.wakeLocked()
	s.mu.Unlock()
	return nil
}

// SendVolatile queues frames only if the transport can write them right away
// (a WebSocket whose queue is empty, or a pending polling GET); otherwise it
// drops them and returns false.
func (s *Session) SendVolatile(frames ...Frame) bool {
	s.mu.Lock()
	writable := s.state == stateOpen && len(s.queue) == 0 &&
		((s.transport == WebSocket && !s.upgrading) || (s.transport == Polling && s.getPending))
	s.mu.Unlock()
	if !writable {
		return false
	}
	return s.send(frames, false) == nil
}

// Close ends the session with reason "forced close" after flushing what is
// queued (on a WebSocket; a polling client gets it with its next GET).
func (s *Session) Close() { s.close(ReasonForcedClose, true) }

// CloseWithReason ends the session with a reason of the caller's choosing;
// graceful says whether queued frames are flushed first.
func (s *Session) CloseWithReason(reason string, graceful bool) { s.close(reason, graceful) }

func (s *Session) wakeLocked() {
	if s.transport == WebSocket {
		s.kickWriterLocked()
		return
	}
	select {
	case s.pollWake <- struct{}{}:
	default:
	}
}

// close moves the session to closing, tells the receiver once, and lets the
// transport finish: a WebSocket writer flushes (if graceful) and sends a close
// frame; a polling session keeps its close packet for the next GET.
func (s *Session) close(reason string, graceful bool) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.state = stateClosing
	s.closeReason = reason
	if s.timer != nil {
		s.timer.Stop()
	}
	transport := s.transport
	getPending, clientClose := s.getPending, s.clientClose
	ws := s.ws
	probe := s.probe
	s.probe = nil
	if !graceful {
		s.queue, s.queueBytes = nil, 0
	}
	if transport == Polling {
		if !graceful || s.getPending || s.clientClose {
			s.wakeLocked()
		}
	} else {
		s.wakeLocked()
	}
	s.mu.Unlock()

	if probe != nil {
		_ = probe.Close()
	}
	if transport == WebSocket && !graceful && ws != nil {
		_ = ws.Close()
	}
	if transport == Polling && (graceful || clientClose) && !getPending {
		// The client collects what is queued and the close packet with its
		// next GET (after a client's own close, a GET already on its way
		// gets a noop); if none comes, forget the session after one ping
		// period.
		time.AfterFunc(s.srv.cfg.PingInterval, s.finish)
	} else {
		// A pending GET still gets its answer: it holds the session.
		s.finish()
	}
	s.srv.cfg.Metrics.SessionClosed(transport, reason)
	s.closeOnce.Do(func() {
		close(s.done)
		s.recv.OnClose(reason)
	})
}

// finish removes a closing session for good.
func (s *Session) finish() {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	s.state = stateClosed
	s.mu.Unlock()
	s.srv.remove(s)
}

// onPacket handles one decoded packet from the client; an error closes the
// session with the returned reason.
func (s *Session) onPacket(p engineio.Packet) (reason string) {
	switch p.Type {
	case engineio.Message:
		s.graceHeartbeat()
		s.recvMu.Lock()
		s.recv.OnMessage(p.Data, p.Binary)
		s.recvMu.Unlock()
	case engineio.Pong:
		s.pong()
	case engineio.Close:
		s.mu.Lock()
		s.clientClose = true
		s.mu.Unlock()
		return ReasonTransportClose
	case engineio.Ping:
		// A v4 client never pings: the heartbeat runs the other way.
		s.srv.cfg.Metrics.Error("invalid_heartbeat")
		return ReasonTransportError
	default:
		// open, upgrade and noop carry nothing for an established transport.
	}
	return ""
}
