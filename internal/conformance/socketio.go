package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/switchboard-rt/switchboard/edge"
)

// socketIOHandler returns the Socket.IO server the official suite expects:
// the README's reference handlers on "/" and "/custom", no other namespace,
// pingInterval 300 ms, pingTimeout 200 ms, connectTimeout 1 s.
func socketIOHandler() http.Handler {
	srv := edge.New(edge.Config{
		PingInterval:   300 * time.Millisecond,
		PingTimeout:    200 * time.Millisecond,
		ConnectTimeout: time.Second,
		CORSOrigins:    []string{"*"},
	})
	// The suite's raw client (ws 8.5) misses a packet that arrives in the
	// same TCP read as the CONNECT reply; delay "auth" like the reference
	// fixture does (docs/conformance.md). AUTH_DELAY_MS=0 disables it.
	delay := 25 * time.Millisecond
	if v, err := strconv.Atoi(os.Getenv("AUTH_DELAY_MS")); err == nil {
		delay = time.Duration(v) * time.Millisecond
	}
	onConnection := func(s *edge.Socket) {
		emitAuth := func() { _ = s.Emit("auth", json.RawMessage(s.Handshake().Auth)) }
		if delay > 0 {
			time.AfterFunc(delay, emitAuth)
		} else {
			emitAuth()
		}
		s.On("message", func(e *edge.Event) { _ = s.Emit("message-back", e.Args) })
		s.On("message-with-ack", func(e *edge.Event) { _ = e.Ack(e.Args) })
	}
	srv.Of("/").OnConnection(onConnection)
	srv.Of("/custom").OnConnection(onConnection)
	return srv
}
