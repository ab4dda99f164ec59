// Command conformance is the fixture the official Engine.IO and Socket.IO
// protocol test suites run against (see docs/conformance.md). It serves, on
// one port and on both loopback addresses:
//
//   - /engine.io/: a bare Engine.IO server that echoes every message;
//   - /socket.io/: a Socket.IO server with the handlers the suites expect.
//
// It is a test program, not part of the product.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchboard-rt/switchboard/edge/engine"
)

func main() {
	port := flag.Int("port", 3000, "port to listen on (both 127.0.0.1 and ::1)")
	flag.Parse()

	mux := http.NewServeMux()
	eng := engine.NewServer(engine.Config{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		CORSOrigins:  []string{"*"},
		OnOpen: func(s *engine.Session) engine.Receiver {
			return echo{s}
		},
	})
	mux.Handle("/engine.io/", eng)
	mux.Handle("/socket.io/", socketIOHandler())

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	for _, host := range []string{"127.0.0.1", "::1"} {
		l, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(*port)))
		if err != nil {
			if host == "::1" {
				continue // no IPv6 loopback on this machine
			}
			log.Fatal(err)
		}
		go func() { _ = srv.Serve(l) }()
	}
	fmt.Printf("LISTENING %d\n", *port)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = eng.Shutdown(sctx)
}

// echo sends every message back on the same session, text as text and
// binary as binary.
type echo struct{ s *engine.Session }

func (e echo) OnMessage(data []byte, binary bool) {
	if binary {
		_ = e.s.Send(engine.Frame{Data: data, Binary: true})
		return
	}
	_ = e.s.Send(engine.Frame{Data: append([]byte{'4'}, data...)})
}

func (echo) OnClose(string) {}
