package loadtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// countingConn counts the reads that reach the socket.
type countingConn struct {
	net.Conn
	reads atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

// TestFramesInOneTCPRead sends a burst of frames in one write and checks that
// once it has arrived, the client parses all of it from a single read(2).
func TestFramesInOneTCPRead(t *testing.T) {
	noLeaks(t)
	var burst []byte
	var want []string
	for i := range 200 {
		m := fmt.Sprintf(`43%d[{"t":%d,"seq":%d}]`, i, 1000+i, i)
		want = append(want, m)
		burst = append(burst, text(m)...)
	}
	send := make(chan struct{})
	u := rawServer(t, func(c net.Conn, _ *http.Request, accept string) {
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+accept+"\r\n\r\n")
		<-send
		c.Write(burst)
		io.Copy(io.Discard, c)
	})
	d := &wsDialer{readSize: readBufferSize, timeout: 5 * time.Second}
	w, err := d.dial(context.Background(), u, time.Second)
	if err != nil {
		close(send)
		t.Fatal(err)
	}
	defer w.close()
	if n := w.br.Buffered(); n != 0 {
		close(send)
		t.Fatalf("%d bytes buffered before the burst was sent", n)
	}
	cc := &countingConn{Conn: w.conn}
	w.br.Reset(cc)
	close(send)

	// Wait, without consuming anything, until the whole burst is queued on
	// the socket.
	raw, err := w.conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	peek := make([]byte, len(burst)+1)
	for deadline := time.Now().Add(5 * time.Second); ; {
		var n int
		raw.Read(func(fd uintptr) bool {
			n, _, _ = syscall.Recvfrom(int(fd), peek, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return true
		})
		if n >= len(burst) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d bytes arrived", n, len(burst))
		}
		time.Sleep(time.Millisecond)
	}

	for i, m := range want {
		b, err := w.next()
		if err != nil || string(b) != m {
			t.Fatalf("message %d: %q, %v; want %q", i, b, err, m)
		}
	}
	if n := cc.reads.Load(); n != 1 {
		t.Fatalf("%d reads for %d frames that arrived together, want 1", n, len(want))
	}
}
