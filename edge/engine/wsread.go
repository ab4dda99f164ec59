package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// The WebSocket read side is ours rather than gorilla's (gorilla does the
// upgrade handshake): an idle connection then costs no read buffer and a
// shallow stack. On a TCP connection the reader waits for data through the
// descriptor (syscall.RawConn) and borrows a large pooled buffer only once
// data is there, so a waiting connection holds none and every read can take
// all the frames the client has sent. On other connections (TLS, pipes) it
// blocks on a small array inside the session and moves to a pooled buffer
// when a read fills that array.

// Close codes of RFC 6455.
const (
	closeNormal          = 1000
	closeProtocolError   = 1002
	closeUnsupportedData = 1003
	closeInvalidPayload  = 1007
	closeTooBig          = 1009
)

const (
	opContinuation = 0x0
	opPing         = 0x9
	opPong         = 0xA
)

// Read errors; wsCloseReason maps them to session close reasons.
var (
	errIdle          = errors.New("engine: no message within the idle period")
	errPeerClosed    = errors.New("engine: client closed the WebSocket")
	errFrameTooLarge = errors.New("engine: WebSocket message too large")
)

// protocolError is a client frame that breaks RFC 6455.
type protocolError string

func (e protocolError) Error() string { return "engine: WebSocket protocol error: " + string(e) }

const inlineRead = 256 // the read array that holds the first bytes of a burst

var burstPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// wsReader parses the frames a client sends on nc.
type wsReader struct {
	nc     net.Conn
	max    int64 // largest message accepted
	inline [inlineRead]byte
	pooled *[]byte
	buf    []byte // inline[:] or *pooled
	r, w   int    // unread bytes are buf[r:w]
	burst  bool   // the last read filled the buffer
	// midFrame is set while a frame's payload is read through the buffer:
	// an idle deadline then is not between messages.
	midFrame bool
	onPing   func(payload []byte)
	msg      []byte // the fragmented message being assembled
	msgOp    byte
	inMsg    bool

	// idleAfter, when set, bounds a wait for the next message: next then
	// returns errIdle with the reader intact, so the caller can go on
	// reading from a fresh goroutine (whose stack is small again).
	idleAfter time.Duration
	armed     bool // the idle deadline is set

	// rc is set when nc exposes its descriptor; rawFn is rd.rawRead bound
	// once (a method value made per read would allocate), and rawN, rawErr
	// are what its last call read.
	rc     syscall.RawConn
	rawFn  func(fd uintptr) bool
	rawN   int
	rawErr error
}

func newWSReader(nc net.Conn, max int64, onPing func([]byte)) *wsReader {
	rd := &wsReader{nc: nc, max: max, onPing: onPing}
	rd.buf = rd.inline[:]
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			rd.rc, rd.rawFn = rc, rd.rawRead
		}
	}
	return rd
}

// fill reads what the connection has into rd.buf[rd.w:].
func (rd *wsReader) fill() (int, error) {
	if rd.rc == nil {
		return rd.nc.Read(rd.buf[rd.w:])
	}
	rd.rawN, rd.rawErr = 0, nil
	if err := rd.rc.Read(rd.rawFn); err != nil {
		return 0, err // the deadline, or the connection was closed
	}
	return rd.rawN, rd.rawErr
}

// rawRead is one read attempt on the descriptor: it borrows the large
// buffer for it and gives it back when nothing was there (false: the poller
// then parks the goroutine until the descriptor is readable).
func (rd *wsReader) rawRead(fd uintptr) bool {
	borrowed := false
	if rd.pooled == nil {
		p := burstPool.Get().(*[]byte)
		rd.w = copy(*p, rd.buf[:rd.w])
		rd.pooled, rd.buf, borrowed = p, *p, true
	}
	for {
		n, err := syscall.Read(int(fd), rd.buf[rd.w:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if borrowed {
				rd.w = copy(rd.inline[:], rd.buf[:rd.w])
				burstPool.Put(rd.pooled)
				rd.pooled, rd.buf = nil, rd.inline[:]
			}
			return false
		case err != nil:
			rd.rawErr = os.NewSyscallError("read", err)
		case n == 0:
			rd.rawErr = io.EOF
		default:
			rd.rawN = n
		}
		return true
	}
}

// need makes at least n unread bytes available, reading as needed; n is at
// most a frame header plus a control payload, which the inline array holds.
func (rd *wsReader) need(n int) error {
	for rd.w-rd.r < n {
		if rd.r > 0 {
			rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
			rd.r = 0
		}
		if rd.pooled == nil && rd.burst {
			// The last read filled the inline array: a burst is arriving;
			// take a large buffer for it, so it is read in few syscalls.
			p := burstPool.Get().(*[]byte)
			rd.w = copy(*p, rd.buf[:rd.w])
			rd.pooled, rd.buf = p, *p
		}
		m, err := rd.fill()
		rd.w += m
		rd.burst = rd.w == len(rd.buf)
		if err != nil && rd.w-rd.r < n {
			if rd.deadlineHit(err) {
				if rd.w == rd.r && !rd.inMsg && !rd.midFrame {
					return errIdle // between messages: resumable
				}
				continue // in the middle of a frame: a slow sender, go on
			}
			if err == io.EOF && rd.w > rd.r {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// arm sets the idle deadline unless it is set: it stays set while messages
// flow, so a busy connection pays for it once per idle period, not per read.
func (rd *wsReader) arm() error {
	if rd.idleAfter <= 0 || rd.armed {
		return nil
	}
	rd.armed = true
	return rd.nc.SetReadDeadline(time.Now().Add(rd.idleAfter))
}

// deadlineHit reports whether err is the idle deadline, which it then clears.
func (rd *wsReader) deadlineHit(err error) bool {
	if !rd.armed || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	rd.armed = false
	_ = rd.nc.SetReadDeadline(time.Time{})
	return true
}

// idle lets go of the burst buffer once everything read was consumed, so a
// connection waiting for its next message holds none.
func (rd *wsReader) idle() {
	if rd.r != rd.w {
		return
	}
	rd.r, rd.w, rd.burst = 0, 0, false
	if rd.pooled != nil {
		burstPool.Put(rd.pooled)
		rd.pooled, rd.buf = nil, rd.inline[:]
	}
}

// next returns the next data message; control frames are handled on the way.
func (rd *wsReader) next() (data []byte, binaryMsg bool, err error) {
	if err := rd.arm(); err != nil {
		return nil, false, err
	}
	for {
		if err := rd.need(2); err != nil {
			return nil, false, err
		}
		b0, b1 := rd.buf[rd.r], rd.buf[rd.r+1]
		fin, op := b0&0x80 != 0, b0&0x0f
		if b0&0x70 != 0 {
			return nil, false, protocolError("reserved bits set")
		}
		if b1&0x80 == 0 {
			return nil, false, protocolError("unmasked client frame")
		}
		hdr := 2
		n := int64(b1 & 0x7f)
		switch n {
		case 126:
			hdr += 2
		case 127:
			hdr += 8
		}
		if err := rd.need(hdr + 4); err != nil {
			return nil, false, err
		}
		switch n {
		case 126:
			n = int64(binary.BigEndian.Uint16(rd.buf[rd.r+2:]))
		case 127:
			u := binary.BigEndian.Uint64(rd.buf[rd.r+2:])
			if u > 1<<62 {
				return nil, false, protocolError("payload length out of range")
			}
			n = int64(u)
		}
		var key [4]byte
		copy(key[:], rd.buf[rd.r+hdr:])
		rd.r += hdr + 4

		if op >= 0x8 { // control frame
			if !fin || n > 125 {
				return nil, false, protocolError("bad control frame")
			}
			if err := rd.need(int(n)); err != nil {
				return nil, false, err
			}
			payload := rd.buf[rd.r : rd.r+int(n)]
			rd.r += int(n)
			unmask(payload, key, 0)
			switch op {
			case opClose:
				return nil, false, errPeerClosed
			case opPing:
				if rd.onPing != nil {
					rd.onPing(append([]byte(nil), payload...))
				}
			case opPong:
			default:
				return nil, false, protocolError(fmt.Sprintf("unknown opcode %d", op))
			}
			continue
		}
		switch {
		case op == opContinuation && !rd.inMsg:
			return nil, false, protocolError("continuation without a message")
		case op != opContinuation && rd.inMsg:
			return nil, false, protocolError("new message inside a fragmented one")
		case op != opContinuation && op != opText && op != opBinary:
			return nil, false, protocolError(fmt.Sprintf("unknown opcode %d", op))
		}
		if int64(len(rd.msg))+n > rd.max {
			return nil, false, errFrameTooLarge
		}
		if op != opContinuation {
			rd.msgOp = op
		}
		start := len(rd.msg)
		if fin && !rd.inMsg {
			rd.msg = make([]byte, n) // the common case: one frame, one exact allocation
		} else {
			rd.msg = append(rd.msg, make([]byte, n)...)
		}
		if err := rd.payload(rd.msg[start:]); err != nil {
			return nil, false, err
		}
		unmask(rd.msg[start:], key, 0)
		if !fin {
			rd.inMsg = true
			continue
		}
		data, rd.msg, rd.inMsg = rd.msg, nil, false
		return data, rd.msgOp == opBinary, nil
	}
}

// payload fills dst with the next len(dst) bytes: what is buffered first,
// then straight from the connection.
func (rd *wsReader) payload(dst []byte) error {
	k := copy(dst, rd.buf[rd.r:rd.w])
	rd.r += k
	if k == len(dst) {
		return nil
	}
	if rest := dst[k:]; len(rest) <= len(rd.buf) {
		// A small remainder goes through the buffer: the read that brings
		// it may bring the client's next frames too, which then cost no
		// syscall of their own.
		rd.midFrame = true
		err := rd.need(len(rest))
		rd.midFrame = false
		if err != nil {
			return err
		}
		rd.r += copy(rest, rd.buf[rd.r:rd.w])
		return nil
	}
	for rest := dst[k:]; len(rest) > 0; {
		m, err := io.ReadFull(rd.nc, rest)
		rest = rest[m:]
		switch {
		case err == nil:
		case rd.deadlineHit(err):
			// The idle deadline fell inside a frame: keep reading.
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		default:
			return err
		}
	}
	return nil
}

// unmask XORs b with the masking key, starting at key offset pos.
func unmask(b []byte, key [4]byte, pos int) {
	if len(b) >= 16 {
		var k8 [8]byte
		for i := range k8 {
			k8[i] = key[(pos+i)&3]
		}
		kw := binary.LittleEndian.Uint64(k8[:])
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^kw)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
}
