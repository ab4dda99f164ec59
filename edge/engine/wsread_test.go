package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// clientFrame builds a masked client frame.
func clientFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key[:]...)
	start := len(f)
	f = append(f, payload...)
	unmask(f[start:], key, 0)
	return f
}

// feed writes raw to a reader over a pipe and returns the reader.
func feed(t *testing.T, max int64, raw []byte, onPing func([]byte)) *wsReader {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	go func() {
		_, _ = a.Write(raw)
		a.Close()
	}()
	return newWSReader(b, max, onPing)
}

func TestWSReaderMessages(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 70000) // 64-bit length
	mid := bytes.Repeat([]byte("y"), 300)   // 16-bit length, larger than the inline array
	var raw []byte
	raw = append(raw, clientFrame(true, opText, []byte("4hello"))...)
	raw = append(raw, clientFrame(true, opBinary, []byte{1, 2, 3})...)
	raw = append(raw, clientFrame(false, opText, []byte("4fr"))...)
	raw = append(raw, clientFrame(true, opPing, []byte("p"))...) // control frames may interleave
	raw = append(raw, clientFrame(true, opContinuation, []byte("ag"))...)
	raw = append(raw, clientFrame(true, opText, mid)...)
	raw = append(raw, clientFrame(true, opBinary, big)...)
	for range 50 { // a burst of small messages
		raw = append(raw, clientFrame(true, opText, []byte("42[\"x\"]"))...)
	}
	raw = append(raw, clientFrame(true, opClose, []byte{0x03, 0xe8})...)
	var pings [][]byte
	rd := feed(t, 1<<20, raw, func(p []byte) { pings = append(pings, p) })
	want := []struct {
		data []byte
		bin  bool
	}{{[]byte("4hello"), false}, {[]byte{1, 2, 3}, true}, {[]byte("4frag"), false}, {mid, false}, {big, true}}
	for range 50 {
		want = append(want, struct {
			data []byte
			bin  bool
		}{[]byte("42[\"x\"]"), false})
	}
	for i, w := range want {
		rd.idle()
		data, bin, err := rd.next()
		if err != nil || bin != w.bin || !bytes.Equal(data, w.data) {
			t.Fatalf("message %d: %d bytes bin=%v err=%v, want %d bytes bin=%v", i, len(data), bin, err, len(w.data), w.bin)
		}
	}
	if _, _, err := rd.next(); !errors.Is(err, errPeerClosed) {
		t.Fatalf("after the close frame: %v", err)
	}
	if len(pings) != 1 || string(pings[0]) != "p" {
		t.Fatalf("pings %q", pings)
	}
	rd.idle()
	if rd.pooled != nil {
		t.Fatal("the burst buffer is still held after everything was consumed")
	}
}

func TestWSReaderErrors(t *testing.T) {
	unmasked := []byte{0x81, 0x02, 'h', 'i'}
	tests := []struct {
		name string
		raw  []byte
		max  int64
		want error
	}{
		{"too large", clientFrame(true, opText, bytes.Repeat([]byte("a"), 101)), 100, errFrameTooLarge},
		{"too large in fragments", append(clientFrame(false, opText, bytes.Repeat([]byte("a"), 60)), clientFrame(true, opContinuation, bytes.Repeat([]byte("a"), 60))...), 100, errFrameTooLarge},
		{"unmasked", unmasked, 100, protocolError("")},
		{"reserved bits", append([]byte{0xC1}, clientFrame(true, opText, []byte("x"))[1:]...), 100, protocolError("")},
		{"continuation first", clientFrame(true, opContinuation, []byte("x")), 100, protocolError("")},
		{"message inside a fragmented one", append(clientFrame(false, opText, []byte("a")), clientFrame(true, opText, []byte("b"))...), 100, protocolError("")},
		{"fragmented control frame", clientFrame(false, opPing, nil), 100, protocolError("")},
		{"unknown opcode", clientFrame(true, 0x3, nil), 100, protocolError("")},
		{"truncated", clientFrame(true, opText, []byte("hello"))[:5], 100, io.ErrUnexpectedEOF},
		{"eof", nil, 100, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := feed(t, tt.max, tt.raw, nil)
			_, _, err := rd.next()
			var pe protocolError
			if _, isPE := tt.want.(protocolError); isPE {
				if !errors.As(err, &pe) {
					t.Fatalf("err %v, want a protocol error", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzWSReader(f *testing.F) {
	f.Add(clientFrame(true, opText, []byte("4hello")))
	f.Add(append(clientFrame(false, opBinary, []byte{1}), clientFrame(true, opContinuation, []byte{2})...))
	f.Add(clientFrame(true, opPing, []byte("x")))
	f.Add([]byte{0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		rd := feed(t, 1<<16, raw, nil)
		for range 100 {
			data, _, err := rd.next()
			if err != nil {
				return
			}
			if int64(len(data)) > 1<<16 {
				t.Fatalf("message of %d bytes over the limit", len(data))
			}
			rd.idle()
		}
	})
}

func BenchmarkWSReader(b *testing.B) {
	frame := clientFrame(true, opText, []byte(`42["echo",{"text":"hello world","n":12345}]`))
	burst := bytes.Repeat(frame, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(burst)))
	for b.Loop() {
		rd := &wsReader{nc: &loopConn{data: burst}, max: 1 << 20}
		rd.buf = rd.inline[:]
		for range 64 {
			if _, _, err := rd.next(); err != nil {
				b.Fatal(err)
			}
		}
		rd.idle()
	}
}

// loopConn is a net.Conn that reads data once.
type loopConn struct {
	net.Conn
	data []byte
}

func (c *loopConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, nil
}

// scriptConn is a net.Conn whose reads follow a script: each step returns
// its bytes (at most chunk of them at a time) or its error.
type scriptConn struct {
	net.Conn
	steps []scriptStep
	chunk int
}

type scriptStep struct {
	data []byte
	err  error
}

func (c *scriptConn) Read(p []byte) (int, error) {
	for len(c.steps) > 0 {
		s := &c.steps[0]
		if s.err != nil {
			err := s.err
			c.steps = c.steps[1:]
			return 0, err
		}
		if len(s.data) == 0 {
			c.steps = c.steps[1:]
			continue
		}
		n := min(len(p), len(s.data), c.chunk)
		copy(p, s.data[:n])
		s.data = s.data[n:]
		return n, nil
	}
	return 0, io.EOF
}

func (c *scriptConn) SetReadDeadline(time.Time) error { return nil }

// A frame whose payload trickles in, with the idle deadline expiring in
// the middle of it, is still read whole: the deadline is not between
// messages there.
func TestWSReaderTrickleAndDeadlineMidFrame(t *testing.T) {
	msg := []byte(`42["echo",{"text":"hello world, a payload longer than one read","n":12345}]`)
	frame := clientFrame(true, opText, msg)
	next := clientFrame(true, opText, []byte("4next"))
	for _, chunk := range []int{3, 100} { // trickling, and the deadline right after the header
		conn := &scriptConn{chunk: chunk, steps: []scriptStep{
			{data: frame[:20]},
			{err: os.ErrDeadlineExceeded},
			{data: append(append([]byte(nil), frame[20:]...), next...)},
		}}
		rd := newWSReader(conn, 1<<20, nil)
		rd.idleAfter = time.Hour
		data, _, err := rd.next()
		if err != nil || !bytes.Equal(data, msg) {
			t.Fatalf("chunk %d: first message: %q, %v", chunk, data, err)
		}
		rd.idle()
		data, _, err = rd.next()
		if err != nil || string(data) != "4next" {
			t.Fatalf("chunk %d: second message: %q, %v", chunk, data, err)
		}
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// On a TCP connection the reader reads through the descriptor: frames that
// trickle in byte by byte, a burst of many frames, an idle deadline between
// messages (resumable, no buffer held while waiting) and the peer's close in
// the middle of a frame.
func TestWSReaderRawTCP(t *testing.T) {
	client, server := tcpPair(t)
	rd := newWSReader(server, 1<<20, nil)
	if rd.rc == nil {
		t.Fatal("a TCP connection must be read through its descriptor")
	}
	first := clientFrame(true, opText, []byte(`42["trickle",{"a":1}]`))
	go func() {
		for i := range first {
			_, _ = client.Write(first[i : i+1])
			time.Sleep(200 * time.Microsecond)
		}
	}()
	data, _, err := rd.next()
	if err != nil || string(data) != `42["trickle",{"a":1}]` {
		t.Fatalf("trickled message: %q, %v", data, err)
	}
	rd.idle()

	// A burst larger than the inline array arrives whole and is parsed
	// from the buffer.
	var burst []byte
	for i := range 200 {
		burst = append(burst, clientFrame(true, opText, fmt.Appendf(nil, `42["m",%d]`, i))...)
	}
	if _, err := client.Write(burst); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		data, _, err := rd.next()
		if want := fmt.Sprintf(`42["m",%d]`, i); err != nil || string(data) != want {
			t.Fatalf("burst message %d: %q, %v; want %s", i, data, err, want)
		}
		rd.idle()
	}

	// Idle: the deadline ends the wait between messages, with no buffer
	// borrowed, and reading goes on afterwards.
	rd.idleAfter = 30 * time.Millisecond
	if _, _, err := rd.next(); !errors.Is(err, errIdle) {
		t.Fatalf("idle wait: %v, want errIdle", err)
	}
	if rd.pooled != nil {
		t.Fatal("a reader waiting for data holds the large buffer")
	}
	rd.idleAfter = time.Minute
	if _, err := client.Write(clientFrame(true, opText, []byte("4after"))); err != nil {
		t.Fatal(err)
	}
	if data, _, err := rd.next(); err != nil || string(data) != "4after" {
		t.Fatalf("after idle: %q, %v", data, err)
	}
	rd.idle()

	// The peer closes in the middle of a frame.
	half := clientFrame(true, opText, []byte("4cut short"))
	_, _ = client.Write(half[:5])
	client.Close()
	if _, _, err := rd.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("close mid-frame: %v, want io.ErrUnexpectedEOF", err)
	}
}
