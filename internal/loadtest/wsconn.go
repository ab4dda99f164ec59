package loadtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The load generator speaks the client side of RFC 6455 itself, rather than
// through a general WebSocket library, because at hundreds of thousands of
// messages per second the library's per-message costs (a deadline update
// per write, an allocated reader per message read) made the load generator,
// not the server, the bottleneck. It implements what a Socket.IO client
// needs and nothing more: no extensions, no subprotocols, no UTF-8
// validation.

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

const (
	// wsHeadroom is reserved at the front of every write buffer for the
	// longest client frame header: 2 bytes, an 8-byte length, a 4-byte mask
	// key. Building the payload after it lets a frame go out in one write
	// without moving the payload.
	wsHeadroom = 14
	// wsMaxMessage bounds a frame and an assembled message: a length beyond
	// it means a broken or hostile stream, not a benchmark message.
	wsMaxMessage = 64 << 20
	// maxControlPayload is RFC 6455's limit for control frames.
	maxControlPayload = 125
	// wsGUID is the RFC 6455 constant hashed into Sec-WebSocket-Accept.
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

var (
	errWSProtocol = errors.New("loadtest: websocket protocol error")
	errWSUpgrade  = errors.New("loadtest: websocket upgrade refused")
)

// wsCloseError reports a close frame from the server.
type wsCloseError struct {
	code   int // 0 when the frame carried no status
	reason string
}

func (e *wsCloseError) Error() string {
	if e.code == 0 {
		return "loadtest: server closed the websocket"
	}
	return fmt.Sprintf("loadtest: server closed the websocket (%d %s)", e.code, e.reason)
}

// wsConn is the client end of a WebSocket connection. One goroutine reads
// (next); writes from any goroutine are serialised by wmu, which also guards
// the owner's state that must change with a write (client.nextID).
type wsConn struct {
	conn net.Conn
	br   *bufio.Reader // holds whatever followed the upgrade response
	msg  []byte        // fragmented message being assembled, owned by the reader
	rerr error         // sticky: after a bad frame the stream cannot be resynchronised

	wmu          sync.Mutex
	wbuf         []byte    // write scratch, wsHeadroom bytes then the payload; guarded by wmu
	wdl          time.Time // write deadline last set on conn; guarded by wmu
	writeTimeout time.Duration
	rng          mrand.PCG // mask keys; guarded by wmu
}

func newWSConn(conn net.Conn, br *bufio.Reader, writeTimeout time.Duration) *wsConn {
	// Mask keys only need to be unpredictable to intermediaries, not
	// secret, so one crypto/rand seed per connection feeds a cheap PRNG.
	var seed [16]byte
	rand.Read(seed[:])
	w := &wsConn{conn: conn, br: br, writeTimeout: writeTimeout, wbuf: make([]byte, wsHeadroom, 64)}
	w.rng.Seed(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))
	return w
}

func (w *wsConn) close() error { return w.conn.Close() }

func (w *wsConn) setReadDeadline(t time.Time) error { return w.conn.SetReadDeadline(t) }

// wsDialer opens WebSocket connections.
type wsDialer struct {
	net      net.Dialer
	readSize int           // bufio.Reader size per connection
	timeout  time.Duration // bounds dial plus upgrade; 0 means ctx alone
	tls      *tls.Config   // for wss; nil means the system roots
}

// dial connects to rawURL (ws:// or wss://) and performs the upgrade. Writes
// on the returned connection time out after writeTimeout.
func (d *wsDialer) dial(ctx context.Context, rawURL string, writeTimeout time.Duration) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "wss" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	conn, err := d.net.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	br, err := d.upgrade(ctx, &conn, u)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return newWSConn(conn, br, writeTimeout), nil
}

// upgrade runs TLS (for wss) and the HTTP upgrade on *conn, replacing it with
// the TLS connection if any, and returns the reader frames must come from.
func (d *wsDialer) upgrade(ctx context.Context, conn *net.Conn, u *url.URL) (*bufio.Reader, error) {
	c := *conn
	if dl, ok := ctx.Deadline(); ok {
		if err := c.SetDeadline(dl); err != nil {
			return nil, err
		}
	}
	// Deadlines alone would miss a cancel; a deadline in the past unblocks
	// whatever I/O is in progress.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	br, err := d.handshake(ctx, conn, u)
	if !stop() {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	if err := (*conn).SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return br, nil
}

func (d *wsDialer) handshake(ctx context.Context, conn *net.Conn, u *url.URL) (*bufio.Reader, error) {
	if u.Scheme == "wss" {
		cfg := &tls.Config{}
		if d.tls != nil {
			cfg = d.tls.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(*conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		*conn = tc
	}
	var raw [16]byte
	rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\n" +
		"Host: " + u.Host + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(*conn, req); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(*conn, d.readSize)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		return nil, fmt.Errorf("read upgrade response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// The body usually says why (Engine.IO's {"code":…,"message":…}).
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		resp.Body.Close()
		return nil, fmt.Errorf("%w: HTTP %d %s", errWSUpgrade, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, fmt.Errorf("%w: Upgrade header %q", errWSUpgrade, resp.Header.Get("Upgrade"))
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		return nil, fmt.Errorf("%w: Sec-WebSocket-Accept %q, want %q", errWSUpgrade, got, want)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		return nil, fmt.Errorf("%w: unrequested extension %q", errWSUpgrade, ext)
	}
	return br, nil
}

// acceptKey is the Sec-WebSocket-Accept a server must answer key with.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// writeText sends b as one text frame.
func (w *wsConn) writeText(b []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.writeCopyLocked(opText, b)
}

func (w *wsConn) writeCopyLocked(op byte, b []byte) error {
	w.wbuf = append(w.wbuf[:wsHeadroom], b...)
	return w.writeFrameLocked(op, w.wbuf)
}

// writeFrameLocked sends buf[wsHeadroom:] as one final frame of type op, in
// one write: the header goes into the headroom and the payload is masked in
// place, so buf's payload is scrambled afterwards. The caller holds wmu.
func (w *wsConn) writeFrameLocked(op byte, buf []byte) error {
	p := buf[wsHeadroom:]
	n := len(p)
	var h []byte
	switch {
	case n <= 125:
		h = buf[wsHeadroom-6 : wsHeadroom]
		h[1] = 0x80 | byte(n)
	case n <= 0xFFFF:
		h = buf[wsHeadroom-8 : wsHeadroom]
		h[1] = 0x80 | 126
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h = buf[:wsHeadroom]
		h[1] = 0x80 | 127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	h[0] = 0x80 | op
	key := uint32(w.rng.Uint64())
	binary.LittleEndian.PutUint32(h[len(h)-4:], key)
	maskBytes(p, key)
	if err := w.refreshWriteDeadline(); err != nil {
		return err
	}
	_, err := w.conn.Write(buf[wsHeadroom-len(h):])
	return err
}

// refreshWriteDeadline moves the write deadline forward only once half the
// timeout has been used: setting it on every write costs a timer update per
// message, while this still keeps any write from blocking longer than
// writeTimeout.
func (w *wsConn) refreshWriteDeadline() error {
	if w.writeTimeout <= 0 {
		return nil
	}
	now := time.Now()
	if w.wdl.Sub(now) >= w.writeTimeout/2 {
		return nil
	}
	w.wdl = now.Add(w.writeTimeout)
	return w.conn.SetWriteDeadline(w.wdl)
}

// maskBytes XORs p with the mask key, whose wire order is key's little-endian
// bytes, eight bytes at a time.
func maskBytes(p []byte, key uint32) {
	k := uint64(key) | uint64(key)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k)
	}
	for ; i < len(p); i++ {
		p[i] ^= byte(key >> (8 * (i & 3)))
	}
}

// frameHead is a parsed frame header.
type frameHead struct {
	fin bool
	op  byte
	hl  int // header length
	n   int // payload length
}

// readHead parses the next frame header without consuming it.
func (w *wsConn) readHead() (frameHead, error) {
	p, err := w.br.Peek(2)
	if err != nil {
		if len(p) > 0 {
			err = unexpected(err)
		}
		return frameHead{}, err
	}
	h := frameHead{fin: p[0]&0x80 != 0, op: p[0] & 0x0F, hl: 2, n: int(p[1] & 0x7F)}
	if p[0]&0x70 != 0 {
		return h, fmt.Errorf("%w: reserved bits set (%#x) without an extension", errWSProtocol, p[0])
	}
	if p[1]&0x80 != 0 {
		return h, fmt.Errorf("%w: masked frame from the server", errWSProtocol)
	}
	switch h.n {
	case 126:
		if p, err = w.br.Peek(4); err != nil {
			return h, unexpected(err)
		}
		h.hl, h.n = 4, int(binary.BigEndian.Uint16(p[2:]))
	case 127:
		if p, err = w.br.Peek(10); err != nil {
			return h, unexpected(err)
		}
		n := binary.BigEndian.Uint64(p[2:])
		if n > wsMaxMessage {
			return h, fmt.Errorf("%w: frame of %d bytes", errWSProtocol, n)
		}
		h.hl, h.n = 10, int(n)
	}
	if h.op >= opClose && (!h.fin || h.n > maxControlPayload) {
		return h, fmt.Errorf("%w: control frame %#x fragmented or longer than 125 bytes", errWSProtocol, h.op)
	}
	return h, nil
}

// peekFrame returns the payload of frame h and consumes the frame. A payload
// that fits the read buffer is returned in place, valid until the next read;
// a longer one is appended to dst.
func (w *wsConn) peekFrame(h frameHead, dst []byte) ([]byte, error) {
	if h.hl+h.n <= w.br.Size() {
		p, err := w.br.Peek(h.hl + h.n)
		if err != nil {
			return nil, unexpected(err)
		}
		w.br.Discard(h.hl + h.n) // cannot fail: the bytes are buffered
		return p[h.hl:], nil
	}
	return w.appendFrame(h, dst)
}

// appendFrame appends the payload of frame h to dst and consumes the frame.
func (w *wsConn) appendFrame(h frameHead, dst []byte) ([]byte, error) {
	if len(dst)+h.n > wsMaxMessage {
		return dst, fmt.Errorf("%w: message over %d bytes", errWSProtocol, wsMaxMessage)
	}
	if _, err := w.br.Discard(h.hl); err != nil {
		return dst, unexpected(err)
	}
	dst = grow(dst, h.n)
	_, err := io.ReadFull(w.br, dst[len(dst)-h.n:])
	return dst, unexpected(err)
}

// skipFrame consumes frame h.
func (w *wsConn) skipFrame(h frameHead) error {
	_, err := w.br.Discard(h.hl + h.n)
	return unexpected(err)
}

// unexpected turns EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// grow extends b by n bytes, reallocating at most once.
func grow(b []byte, n int) []byte {
	if len(b)+n <= cap(b) {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, max(2*cap(b), len(b)+n))
	copy(nb, b)
	return nb
}

// next returns the next text message, valid until the following call.
// Binary messages are skipped, pings answered, pongs ignored; a close frame
// is answered and returned as a *wsCloseError. Frames already buffered are
// parsed before the connection is read again, so a burst arriving in one
// segment costs one read.
func (w *wsConn) next() ([]byte, error) {
	if w.rerr != nil {
		return nil, w.rerr
	}
	b, err := w.nextMessage()
	if err != nil {
		w.rerr = err
	}
	return b, err
}

func (w *wsConn) nextMessage() ([]byte, error) {
	var (
		inMessage bool // a fragmented message has begun
		binaryMsg bool // … and it is binary, to be skipped
	)
	w.msg = w.msg[:0]
	for {
		h, err := w.readHead()
		if err != nil {
			if inMessage || err != io.EOF {
				return nil, unexpected(err)
			}
			return nil, err
		}
		switch h.op {
		case opText, opBinary:
			if inMessage {
				return nil, fmt.Errorf("%w: new message inside a fragmented one", errWSProtocol)
			}
			switch {
			case h.op == opBinary:
				if err := w.skipFrame(h); err != nil {
					return nil, err
				}
				inMessage, binaryMsg = !h.fin, true
			case h.fin && h.hl+h.n > w.br.Size():
				w.msg, err = w.appendFrame(h, w.msg)
				return w.msg, err
			case h.fin:
				return w.peekFrame(h, nil)
			default:
				if w.msg, err = w.appendFrame(h, w.msg); err != nil {
					return nil, err
				}
				inMessage, binaryMsg = true, false
			}
		case opContinuation:
			if !inMessage {
				return nil, fmt.Errorf("%w: continuation frame outside a message", errWSProtocol)
			}
			if binaryMsg {
				err = w.skipFrame(h)
			} else {
				w.msg, err = w.appendFrame(h, w.msg)
			}
			if err != nil {
				return nil, err
			}
			if h.fin {
				if binaryMsg {
					inMessage = false
					continue
				}
				return w.msg, nil
			}
		case opPing:
			p, err := w.peekFrame(h, nil)
			if err != nil {
				return nil, err
			}
			w.wmu.Lock()
			err = w.writeCopyLocked(opPong, p)
			w.wmu.Unlock()
			if err != nil {
				return nil, err
			}
		case opPong:
			if err := w.skipFrame(h); err != nil {
				return nil, err
			}
		case opClose:
			p, err := w.peekFrame(h, nil)
			if err != nil {
				return nil, err
			}
			return nil, w.closed(p)
		default:
			return nil, fmt.Errorf("%w: reserved opcode %#x", errWSProtocol, h.op)
		}
	}
}

// closed answers the server's close frame p, echoing its status as RFC 6455
// asks, and returns the error that ends the read loop.
func (w *wsConn) closed(p []byte) error {
	e := &wsCloseError{}
	var echo []byte
	if len(p) >= 2 {
		e.code = int(binary.BigEndian.Uint16(p))
		e.reason = string(p[2:])
		echo = p[:2]
	}
	w.wmu.Lock()
	w.writeCopyLocked(opClose, echo) // best effort: the server is leaving
	w.wmu.Unlock()
	return e
}
