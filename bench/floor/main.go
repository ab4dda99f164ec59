// Command floor is a measuring fixture, not a server: the least work any
// Socket.IO server must do to deliver a room broadcast over WebSocket. It
// speaks just enough of the load tool's benchmark contract (the open packet,
// namespace "/", "join" with ack, "broadcast") and delivers each broadcast by
// writing one prepared frame to every member with a bare write(2) in a tight
// loop: no queue, no goroutine hand-off, no encoding per recipient. The load
// tool's latency and CPU figures against it are the floor of this machine's
// loopback (kernel TCP send and receive, wake-ups) that no server goes below
// with one connection per client; docs/benchmarks.md compares Switchboard
// with it.
//
//	go run ./bench/floor --addr 127.0.0.1:4350
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gorilla/websocket"
)

type member struct {
	rc syscall.RawConn
	mu sync.Mutex // one writer at a time: the broadcaster or the member's reader
}

var (
	mu      sync.Mutex
	members []*member
	dropped atomic.Int64 // frames not written whole (socket buffer full)
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4350", "listen address")
	flag.Parse()
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	http.HandleFunc("/socket.io/", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		go serve(ws.NetConn())
	})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		log.Printf("frames dropped (socket buffer full): %d", dropped.Load())
		os.Exit(0)
	}()
	log.Printf("floor fixture on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}

// frame returns an unmasked server text frame carrying payload.
func frame(payload string) []byte {
	b := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// write writes f to m with one non-blocking write(2).
func (m *member) write(f []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int
	var err error
	_ = m.rc.Write(func(fd uintptr) bool {
		n, err = syscall.Write(int(fd), f)
		return true // never wait: a full buffer is a drop, counted
	})
	if err != nil || n != len(f) {
		dropped.Add(1)
	}
}

func serve(nc net.Conn) {
	defer nc.Close()
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return
	}
	m := &member{rc: rc}
	m.write(frame(`0{"sid":"floor","upgrades":[],"pingInterval":300000,"pingTimeout":20000,"maxPayload":1000000}`))
	r := &reader{nc: nc}
	for {
		msg, err := r.next()
		if err != nil {
			return
		}
		switch {
		case bytes.Equal(msg, []byte("40")):
			m.write(frame(`40{"sid":"floor-socket"}`))
		case bytes.HasPrefix(msg, []byte("42")):
			handle(m, msg[2:])
		}
	}
}

// handle answers join (with its ack id) and runs broadcast.
func handle(m *member, p []byte) {
	i := bytes.IndexByte(p, '[')
	if i < 0 {
		return
	}
	id, args := p[:i], p[i:]
	switch {
	case bytes.HasPrefix(args, []byte(`["join",`)):
		mu.Lock()
		members = append(members, m)
		mu.Unlock()
		m.write(frame(fmt.Sprintf("43%s[true]", id)))
	case bytes.HasPrefix(args, []byte(`["broadcast",`)):
		// ["broadcast","room",{payload}] -> ["msg",{payload}]
		rest := args[len(`["broadcast",`):]
		j := bytes.IndexByte(rest, ',')
		if j < 0 {
			return
		}
		f := frame(`42["msg",` + string(rest[j+1:]))
		mu.Lock()
		all := members
		mu.Unlock()
		for _, x := range all {
			x.write(f)
		}
	}
}

// reader parses masked client frames; fragmented messages are not used by
// the load tool and are refused.
type reader struct {
	nc  net.Conn
	buf []byte
	r   int
}

func (rd *reader) fill(n int) error {
	for len(rd.buf)-rd.r < n {
		if rd.r > 0 {
			rd.buf = append(rd.buf[:0], rd.buf[rd.r:]...)
			rd.r = 0
		}
		var tmp [4096]byte
		k, err := rd.nc.Read(tmp[:])
		rd.buf = append(rd.buf, tmp[:k]...)
		if err != nil {
			if errors.Is(err, io.EOF) && len(rd.buf)-rd.r >= n {
				return nil
			}
			return err
		}
	}
	return nil
}

func (rd *reader) next() ([]byte, error) {
	if err := rd.fill(2); err != nil {
		return nil, err
	}
	b0, b1 := rd.buf[rd.r], rd.buf[rd.r+1]
	if b0&0x80 == 0 || b1&0x80 == 0 {
		return nil, errors.New("floor: fragmented or unmasked frame")
	}
	hdr, n := 2, int(b1&0x7f)
	switch n {
	case 126:
		hdr = 4
	case 127:
		hdr = 10
	}
	if err := rd.fill(hdr + 4); err != nil {
		return nil, err
	}
	switch n {
	case 126:
		n = int(binary.BigEndian.Uint16(rd.buf[rd.r+2:]))
	case 127:
		n = int(binary.BigEndian.Uint64(rd.buf[rd.r+2:]))
	}
	if n > 1<<20 {
		return nil, errors.New("floor: frame too large")
	}
	if err := rd.fill(hdr + 4 + n); err != nil {
		return nil, err
	}
	key := rd.buf[rd.r+hdr : rd.r+hdr+4]
	msg := make([]byte, n)
	copy(msg, rd.buf[rd.r+hdr+4:])
	for i := range msg {
		msg[i] ^= key[i&3]
	}
	rd.r += hdr + 4 + n
	if b0&0x0f == 0x8 { // close
		return nil, io.EOF
	}
	return msg, nil
}
