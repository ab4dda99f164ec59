package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// scriptConn is a net.Conn that serves reads from chunks, one chunk per Read
// at most (like a socket returning what has arrived), and records writes.
type scriptConn struct {
	chunks [][]byte
	reads  int

	mu        sync.Mutex
	out       bytes.Buffer
	writes    int
	deadlines []time.Time // SetWriteDeadline calls
}

func (c *scriptConn) Read(p []byte) (int, error) {
	for len(c.chunks) > 0 && len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	c.reads++
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	return n, nil
}

func (c *scriptConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.out.Write(p)
}

func (c *scriptConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadlines = append(c.deadlines, t)
	return nil
}

func (c *scriptConn) Close() error                      { return nil }
func (c *scriptConn) LocalAddr() net.Addr               { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error       { return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error { return nil }

// newScripted returns a wsConn reading chunks through a size-byte buffer.
func newScripted(size int, chunks ...[]byte) (*wsConn, *scriptConn) {
	sc := &scriptConn{chunks: chunks}
	return newWSConn(sc, bufio.NewReaderSize(sc, size), time.Hour), sc
}

// srvFrame encodes a server frame (unmasked), independently of the client.
func srvFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var b []byte
	switch n := len(payload); {
	case n < 126:
		b = []byte{b0, byte(n)}
	case n < 1<<16:
		b = []byte{b0, 126, byte(n >> 8), byte(n)}
	default:
		b = binary.BigEndian.AppendUint64([]byte{b0, 127}, uint64(n))
	}
	return append(b, payload...)
}

func text(s string) []byte { return srvFrame(true, opText, []byte(s)) }

func join(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// clientFrame is a frame the client wrote, decoded by readClientFrame.
type clientFrame struct {
	fin     bool
	op      byte
	hl      int // header length, mask key included
	key     [4]byte
	payload string
}

// readClientFrame decodes one client frame from b, checking that it is
// masked, and returns the rest.
func readClientFrame(b []byte) (clientFrame, []byte, error) {
	if len(b) < 2 {
		return clientFrame{}, nil, fmt.Errorf("short frame %x", b)
	}
	f := clientFrame{fin: b[0]&0x80 != 0, op: b[0] & 0x0F}
	if b[0]&0x70 != 0 {
		return f, nil, fmt.Errorf("reserved bits in %#x", b[0])
	}
	if b[1]&0x80 == 0 {
		return f, nil, errors.New("client frame not masked")
	}
	n, hl := uint64(b[1]&0x7F), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return f, nil, errors.New("short 16-bit header")
		}
		n, hl = uint64(binary.BigEndian.Uint16(b[2:])), 4
		if n < 126 {
			return f, nil, fmt.Errorf("non-minimal 16-bit length %d", n)
		}
	case 127:
		if len(b) < 10 {
			return f, nil, errors.New("short 64-bit header")
		}
		n, hl = binary.BigEndian.Uint64(b[2:]), 10
		if n < 1<<16 {
			return f, nil, fmt.Errorf("non-minimal 64-bit length %d", n)
		}
	}
	if uint64(len(b)) < uint64(hl)+4+n {
		return f, nil, fmt.Errorf("frame of %d bytes truncated to %d", n, len(b)-hl-4)
	}
	copy(f.key[:], b[hl:])
	hl += 4
	f.hl = hl
	p := make([]byte, n)
	for i := range p {
		p[i] = b[hl+i] ^ f.key[i%4]
	}
	f.payload = string(p)
	return f, b[hl+int(n):], nil
}

// clientFrames decodes everything the client wrote.
func clientFrames(t *testing.T, b []byte) []clientFrame {
	t.Helper()
	var out []clientFrame
	for len(b) > 0 {
		f, rest, err := readClientFrame(b)
		if err != nil {
			t.Fatalf("client output %x: %v", b, err)
		}
		out = append(out, f)
		b = rest
	}
	return out
}

// pattern returns n bytes of varied content, so that masking mistakes show.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+i/26)%26)
	}
	return b
}

func TestWriteFrameForms(t *testing.T) {
	for _, tt := range []struct {
		n      int
		header int // with the mask key
	}{
		{0, 6}, {1, 6}, {7, 6}, {125, 6},
		{126, 8}, {200, 8}, {65535, 8},
		{65536, 14}, {70001, 14},
	} {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			w, sc := newScripted(64)
			msg := pattern(tt.n)
			orig := bytes.Clone(msg)
			if err := w.writeText(msg); err != nil {
				t.Fatal(err)
			}
			if err := w.writeText(msg); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(msg, orig) {
				t.Fatal("writeText changed the caller's buffer")
			}
			if sc.writes != 2 {
				t.Fatalf("%d writes for 2 frames", sc.writes)
			}
			fs := clientFrames(t, sc.out.Bytes())
			if len(fs) != 2 {
				t.Fatalf("%d frames decoded, want 2", len(fs))
			}
			for _, f := range fs {
				if !f.fin || f.op != opText || f.hl != tt.header || f.payload != string(orig) {
					t.Fatalf("frame fin=%v op=%#x header=%d payload %d bytes; want a final text frame, header %d, the %d bytes sent",
						f.fin, f.op, f.hl, len(f.payload), tt.header, tt.n)
				}
			}
			if fs[0].key == fs[1].key {
				t.Errorf("two frames masked with the same key %x", fs[0].key)
			}
		})
	}
}

func TestMaskBytes(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for n := range 40 { // every remainder after the 8-byte blocks
		p := pattern(n)
		want := make([]byte, n)
		for i := range want {
			want[i] = p[i] ^ key[i%4]
		}
		maskBytes(p, binary.LittleEndian.Uint32(key[:]))
		if !bytes.Equal(p, want) {
			t.Fatalf("n=%d: %x, want %x", n, p, want)
		}
	}
}

func TestEmitOneWrite(t *testing.T) {
	w, sc := newScripted(64)
	c := newClient(w, "/chat")
	for i := range 3 {
		err := c.emit(true, func(b []byte, id int64) []byte {
			b = appendEventHead(b, c.nsp, id, "echo")
			return append(b, fmt.Sprintf(`,%d]`, i)...)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if sc.writes != 3 {
		t.Fatalf("%d writes for 3 emits", sc.writes)
	}
	var got []string
	for _, f := range clientFrames(t, sc.out.Bytes()) {
		got = append(got, f.payload)
	}
	want := []string{`42/chat,0["echo",0]`, `42/chat,1["echo",1]`, `42/chat,2["echo",2]`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("sent %q, want %q", got, want)
	}
}

func TestWriteDeadlineRefresh(t *testing.T) {
	w, sc := newScripted(64)
	const timeout = time.Hour
	t0 := time.Now()
	for range 5 {
		if err := w.writeText([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if len(sc.deadlines) != 1 {
		t.Fatalf("%d SetWriteDeadline calls for 5 writes, want 1", len(sc.deadlines))
	}
	if d := sc.deadlines[0]; d.Before(t0.Add(timeout)) || d.After(time.Now().Add(timeout)) {
		t.Fatalf("deadline %v is not a write timeout from now", d)
	}

	// More than half the timeout left: no refresh.
	w.wdl = time.Now().Add(timeout/2 + time.Minute)
	w.writeText([]byte("x"))
	if len(sc.deadlines) != 1 {
		t.Fatalf("refreshed with more than half the timeout left")
	}
	// Less than half left: the next write moves it a full timeout ahead.
	w.wdl = time.Now().Add(timeout/2 - time.Minute)
	t1 := time.Now()
	w.writeText([]byte("x"))
	if len(sc.deadlines) != 2 {
		t.Fatalf("not refreshed with less than half the timeout left")
	}
	if d := sc.deadlines[1]; d.Before(t1.Add(timeout)) || d.After(time.Now().Add(timeout)) || !d.Equal(w.wdl) {
		t.Fatalf("refreshed deadline %v, tracked %v", d, w.wdl)
	}
}

func TestReadFrames(t *testing.T) {
	big := string(pattern(70000))
	mid := string(pattern(3000))
	frag := string(pattern(10000))
	isProto := func(err error) bool { return errors.Is(err, errWSProtocol) }
	isEOF := func(err error) bool { return err == io.EOF }
	isUnexpected := func(err error) bool { return err == io.ErrUnexpectedEOF }
	closeWith := func(code int, reason string) func(error) bool {
		return func(err error) bool {
			var ce *wsCloseError
			return errors.As(err, &ce) && ce.code == code && ce.reason == reason
		}
	}
	ctl := func(op byte, p string) clientFrame { return clientFrame{fin: true, op: op, payload: p} }
	for _, tt := range []struct {
		name    string
		size    int // read buffer
		in      []byte
		want    []string
		sent    []clientFrame // frames the client answered with
		wantErr func(error) bool
	}{
		{name: "7-bit length", in: text("hello"), want: []string{"hello"}, wantErr: isEOF},
		{name: "16-bit length", in: text(mid[:300]), want: []string{mid[:300]}, wantErr: isEOF},
		{name: "64-bit length", in: text(big), want: []string{big}, wantErr: isEOF},
		{name: "longer than the buffer", size: 2048, in: join(text(mid), text("after")), want: []string{mid, "after"}, wantErr: isEOF},
		{name: "empty message", in: join(text(""), text("q")), want: []string{"", "q"}, wantErr: isEOF},
		{name: "binary skipped", in: join(srvFrame(true, opBinary, []byte{1, 2, 3}), text("a")), want: []string{"a"}, wantErr: isEOF},
		{
			name:    "fragmented",
			in:      join(srvFrame(false, opText, []byte("he")), srvFrame(false, opContinuation, []byte("ll")), srvFrame(true, opContinuation, []byte("o")), text("next")),
			want:    []string{"hello", "next"},
			wantErr: isEOF,
		},
		{
			name:    "fragmented, longer than the buffer",
			size:    2048,
			in:      join(srvFrame(false, opText, []byte(frag[:6000])), srvFrame(true, opContinuation, []byte(frag[6000:]))),
			want:    []string{frag},
			wantErr: isEOF,
		},
		{
			name:    "ping inside a fragmented message",
			in:      join(srvFrame(false, opText, []byte("ab")), srvFrame(true, opPing, []byte("p1")), srvFrame(true, opContinuation, []byte("cd"))),
			want:    []string{"abcd"},
			sent:    []clientFrame{ctl(opPong, "p1")},
			wantErr: isEOF,
		},
		{
			name:    "fragmented binary skipped",
			in:      join(srvFrame(false, opBinary, []byte{1}), srvFrame(true, opContinuation, []byte{2}), text("x")),
			want:    []string{"x"},
			wantErr: isEOF,
		},
		{
			name:    "ping answered with its payload",
			in:      join(srvFrame(true, opPing, []byte("hi")), text("x"), srvFrame(true, opPing, nil)),
			want:    []string{"x"},
			sent:    []clientFrame{ctl(opPong, "hi"), ctl(opPong, "")},
			wantErr: isEOF,
		},
		{name: "pong ignored", in: join(srvFrame(true, opPong, []byte("z")), text("y")), want: []string{"y"}, wantErr: isEOF},
		{
			name:    "close with status",
			in:      join(text("last"), srvFrame(true, opClose, append([]byte{0x03, 0xE9}, "going away"...)), text("never")),
			want:    []string{"last"},
			sent:    []clientFrame{ctl(opClose, "\x03\xE9")},
			wantErr: closeWith(1001, "going away"),
		},
		{name: "close without status", in: srvFrame(true, opClose, nil), sent: []clientFrame{ctl(opClose, "")}, wantErr: closeWith(0, "")},
		{name: "masked server frame", in: join(text("ok"), []byte{0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2}), want: []string{"ok"}, wantErr: isProto},
		{name: "64-bit length over the limit", in: binary.BigEndian.AppendUint64([]byte{0x81, 127}, wsMaxMessage+1), wantErr: isProto},
		{name: "absurd 64-bit length", in: binary.BigEndian.AppendUint64([]byte{0x81, 127}, 1<<62), wantErr: isProto},
		{name: "continuation outside a message", in: srvFrame(true, opContinuation, []byte("x")), wantErr: isProto},
		{name: "new message inside a fragmented one", in: join(srvFrame(false, opText, []byte("a")), text("b")), wantErr: isProto},
		{name: "reserved opcode", in: srvFrame(true, 0x3, []byte("x")), wantErr: isProto},
		{name: "reserved bit", in: []byte{0xC1, 0x01, 'x'}, wantErr: isProto},
		{name: "fragmented ping", in: srvFrame(false, opPing, []byte("x")), wantErr: isProto},
		{name: "ping over 125 bytes", in: srvFrame(true, opPing, pattern(126)), wantErr: isProto},
		{name: "truncated payload", in: []byte{0x81, 10, 'a', 'b'}, wantErr: isUnexpected},
		{name: "truncated header", in: []byte{0x81, 126, 1}, wantErr: isUnexpected},
		{name: "truncated fragmented message", in: srvFrame(false, opText, []byte("a")), wantErr: isUnexpected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, sc := newScripted(orDefault(tt.size, readBufferSize), tt.in)
			var got []string
			var err error
			for {
				var b []byte
				if b, err = w.next(); err != nil {
					break
				}
				got = append(got, string(b))
			}
			if !tt.wantErr(err) {
				t.Fatalf("error %v (%T)", err, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("message %d: %.40q… (%d bytes), want %.40q… (%d bytes)", i, got[i], len(got[i]), tt.want[i], len(tt.want[i]))
				}
			}
			sent := clientFrames(t, sc.out.Bytes())
			if len(sent) != len(tt.sent) {
				t.Fatalf("client sent %d frames, want %d", len(sent), len(tt.sent))
			}
			for i, f := range sent {
				if f.fin != tt.sent[i].fin || f.op != tt.sent[i].op || f.payload != tt.sent[i].payload {
					t.Fatalf("client frame %d: fin=%v op=%#x %q, want op=%#x %q", i, f.fin, f.op, f.payload, tt.sent[i].op, tt.sent[i].payload)
				}
			}
			// The error sticks, without touching the connection again.
			reads := sc.reads
			if _, again := w.next(); again != err || sc.reads != reads {
				t.Fatalf("second call: %v after %d more reads, want %v without reading", again, sc.reads-reads, err)
			}
		})
	}
}

// TestReadBurst checks that frames already buffered are parsed before the
// connection is read again: one read per arrival, not per frame.
func TestReadBurst(t *testing.T) {
	var burst []byte
	var want []string
	for i := range 100 {
		m := fmt.Sprintf(`43%d[{"t":%d}]`, i, i*1000)
		want = append(want, m)
		burst = append(burst, text(m)...)
	}
	split := len(burst)/2 + 3 // inside a frame
	for _, tt := range []struct {
		name   string
		chunks [][]byte
		reads  int
	}{
		{"one arrival", [][]byte{burst}, 1},
		{"two arrivals splitting a frame", [][]byte{burst[:split], burst[split:]}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, sc := newScripted(readBufferSize, tt.chunks...)
			for i, m := range want {
				b, err := w.next()
				if err != nil || string(b) != m {
					t.Fatalf("message %d: %q, %v; want %q", i, b, err, m)
				}
			}
			if sc.reads != tt.reads {
				t.Fatalf("%d reads for %d arrivals", sc.reads, tt.reads)
			}
		})
	}
}

// TestDialGorilla runs the handshake and frames both ways against a
// gorilla/websocket server, over ws:// and wss://.
func TestDialGorilla(t *testing.T) {
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			noLeaks(t)
			testDialGorilla(t, scheme)
		})
	}
}

func testDialGorilla(t *testing.T, scheme string) {
	fragmented := string(pattern(5000))
	msgs := []string{"0{\"sid\":\"x\"}", string(pattern(300)), string(pattern(70000)), fragmented}
	type result struct {
		req    *http.Request
		pong   string
		echoed []string
		close  *websocket.CloseError
		err    error
	}
	results := make(chan result, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var res result
		defer func() { results <- res }()
		res.req = r
		up := websocket.Upgrader{WriteBufferSize: 1024}
		ws, err := up.Upgrade(rw, r, nil)
		if err != nil {
			res.err = err
			return
		}
		defer ws.Close()
		pongs := make(chan string, 1)
		ws.SetPongHandler(func(s string) error { pongs <- s; return nil })
		if res.err = ws.WriteControl(websocket.PingMessage, []byte("ping-1"), time.Now().Add(time.Second)); res.err != nil {
			return
		}
		for _, m := range msgs {
			if m == fragmented {
				// Writes larger than twice the write buffer go out as
				// separate frames of one message.
				mw, err := ws.NextWriter(websocket.TextMessage)
				if err != nil {
					res.err = err
					return
				}
				for p := m; len(p) > 0; p = p[min(len(p), 2500):] {
					mw.Write([]byte(p[:min(len(p), 2500)]))
				}
				res.err = mw.Close()
			} else {
				res.err = ws.WriteMessage(websocket.TextMessage, []byte(m))
			}
			if res.err != nil {
				return
			}
			typ, b, err := ws.ReadMessage() // gorilla fails on unmasked frames
			if err != nil {
				res.err = err
				return
			}
			if typ != websocket.TextMessage {
				res.err = fmt.Errorf("message type %d", typ)
				return
			}
			res.echoed = append(res.echoed, string(b))
		}
		select {
		case res.pong = <-pongs:
		default:
		}
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done"), time.Now().Add(time.Second))
		_, _, err = ws.ReadMessage()
		errors.As(err, &res.close)
	}))
	d := &wsDialer{readSize: 2048, timeout: 5 * time.Second}
	if scheme == "wss" {
		srv.StartTLS()
		d.tls = srv.Client().Transport.(*http.Transport).TLSClientConfig
	} else {
		srv.Start()
	}
	defer srv.Close()

	target, err := parseTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(target.url, scheme+"://") {
		t.Fatalf("target %s", target.url)
	}
	w, err := d.dial(context.Background(), target.url, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	var got []string
	for {
		b, err := w.next()
		if err != nil {
			var ce *wsCloseError
			if !errors.As(err, &ce) || ce.code != 1000 || ce.reason != "done" {
				t.Fatalf("read: %v, want the server's close 1000 done", err)
			}
			break
		}
		got = append(got, string(b))
		if err := w.writeText(b); err != nil {
			t.Fatal(err)
		}
	}
	res := <-results
	if res.err != nil {
		t.Fatalf("server: %v", res.err)
	}
	q := res.req.URL.Query()
	if res.req.URL.Path != "/socket.io/" || q.Get("EIO") != "4" || q.Get("transport") != "websocket" {
		t.Errorf("request URI %s", res.req.RequestURI)
	}
	if key, err := base64.StdEncoding.DecodeString(res.req.Header.Get("Sec-WebSocket-Key")); err != nil || len(key) != 16 {
		t.Errorf("Sec-WebSocket-Key %q", res.req.Header.Get("Sec-WebSocket-Key"))
	}
	if len(got) != len(msgs) || len(res.echoed) != len(msgs) {
		t.Fatalf("client got %d messages, server got %d echoes; want %d", len(got), len(res.echoed), len(msgs))
	}
	for i, m := range msgs {
		if got[i] != m || res.echoed[i] != m {
			t.Errorf("message %d (%d bytes): client got %d bytes, echo %d bytes, not equal", i, len(m), len(got[i]), len(res.echoed[i]))
		}
	}
	if res.pong != "ping-1" {
		t.Errorf("server got pong %q, want ping-1", res.pong)
	}
	if res.close == nil || res.close.Code != websocket.CloseNormalClosure {
		t.Errorf("server saw close %v, want 1000 echoed", res.close)
	}
}

// rawServer serves each TCP connection with handle, given the parsed
// upgrade request and the key's expected accept value.
func rawServer(t *testing.T, handle func(c net.Conn, r *http.Request, accept string)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				r, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				handle(c, r, acceptKey(r.Header.Get("Sec-WebSocket-Key")))
			})
		}
	})
	return "ws://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=websocket"
}

func TestDialRequest(t *testing.T) {
	noLeaks(t)
	reqs := make(chan *http.Request, 1)
	u := rawServer(t, func(c net.Conn, r *http.Request, accept string) {
		reqs <- r
		// The open packet in the same write as the 101: it must not be
		// lost in the buffer the response was parsed from.
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+accept+"\r\n\r\n"+
			string(text(`0{"sid":"abc"}`))+string(text("40")))
		io.Copy(io.Discard, c)
	})
	d := &wsDialer{readSize: 2048, timeout: 5 * time.Second}
	w, err := d.dial(context.Background(), u, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	for _, want := range []string{`0{"sid":"abc"}`, "40"} {
		if b, err := w.next(); err != nil || string(b) != want {
			t.Fatalf("next: %q, %v; want %q", b, err, want)
		}
	}
	r := <-reqs
	host := strings.TrimPrefix(strings.Split(u, "/socket.io/")[0], "ws://")
	for _, c := range []struct{ what, got, want string }{
		{"method", r.Method, "GET"},
		{"proto", r.Proto, "HTTP/1.1"},
		{"request URI", r.RequestURI, "/socket.io/?EIO=4&transport=websocket"},
		{"Host", r.Host, host},
		{"Upgrade", r.Header.Get("Upgrade"), "websocket"},
		{"Connection", r.Header.Get("Connection"), "Upgrade"},
		{"Sec-WebSocket-Version", r.Header.Get("Sec-WebSocket-Version"), "13"},
	} {
		if c.got != c.want {
			t.Errorf("%s %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestDialRefused(t *testing.T) {
	noLeaks(t)
	for _, tt := range []struct {
		name string
		resp func(accept string) string
		want string
	}{
		{
			name: "HTTP error",
			resp: func(string) string {
				b := `{"code":0,"message":"Transport unknown"}`
				return fmt.Sprintf("HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s", len(b), b)
			},
			want: `HTTP 400 {"code":0,"message":"Transport unknown"}`,
		},
		{
			name: "wrong accept",
			resp: func(string) string {
				return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey("other") + "\r\n\r\n"
			},
			want: "Sec-WebSocket-Accept",
		},
		{
			name: "no Upgrade header",
			resp: func(accept string) string {
				return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n"
			},
			want: "Upgrade header",
		},
		{
			name: "extension not asked for",
			resp: func(accept string) string {
				return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
			},
			want: "permessage-deflate",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := rawServer(t, func(c net.Conn, _ *http.Request, accept string) {
				io.WriteString(c, tt.resp(accept))
				io.Copy(io.Discard, c)
			})
			d := &wsDialer{readSize: 2048, timeout: 5 * time.Second}
			w, err := d.dial(context.Background(), u, time.Second)
			if err == nil {
				w.close()
				t.Fatal("dial succeeded")
			}
			if !errors.Is(err, errWSUpgrade) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want errWSUpgrade mentioning %q", err, tt.want)
			}
		})
	}
}

// TestDialStalled checks that a server that never answers the upgrade holds
// the dial no longer than ctx or the dialer's timeout.
func TestDialStalled(t *testing.T) {
	noLeaks(t)
	u := rawServer(t, func(c net.Conn, _ *http.Request, _ string) { io.Copy(io.Discard, c) })
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		cancel  bool
		is      func(error) bool
	}{
		{"canceled", 0, true, func(err error) bool { return errors.Is(err, context.Canceled) }},
		{"timeout", 100 * time.Millisecond, false, func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				time.AfterFunc(100*time.Millisecond, cancel)
			}
			d := &wsDialer{readSize: 2048, timeout: tt.timeout}
			start := time.Now()
			w, err := d.dial(ctx, u, time.Second)
			if err == nil {
				w.close()
				t.Fatal("dial succeeded")
			}
			if !tt.is(err) || time.Since(start) > 3*time.Second {
				t.Fatalf("err = %v after %v", err, time.Since(start))
			}
		})
	}
}
