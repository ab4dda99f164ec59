// Package testserver builds the edge server of the compatibility test
// contract (itest/js/README.md): the handlers the real socket.io-client
// scenarios of itest/js expect, the same as itest/js/refserver.mjs on
// Node.js. Tests and the conformance tooling use it; the product does not.
package testserver

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/switchboard-rt/switchboard/edge"
)

// Config returns the contract's server configuration.
func Config(recovery bool) edge.Config {
	return edge.Config{
		PingInterval:      500 * time.Millisecond,
		PingTimeout:       1000 * time.Millisecond,
		MaxHTTPBufferSize: 1e6,
		CORSOrigins:       []string{"*"},
		Recovery:          recovery,
		MaxDisconnection:  10 * time.Second,
	}
}

// New returns a server implementing the contract on cfg.
func New(cfg edge.Config) *edge.Server {
	srv := edge.New(cfg)
	srv.Of("/").OnConnection(Handlers)
	srv.Of("/custom").OnConnection(Handlers)
	auth := srv.Of("/auth")
	auth.Use(func(s *edge.Socket) error {
		var a struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(s.Handshake().Auth, &a)
		if a.Token == "secret" {
			return nil
		}
		return &edge.ConnectError{Message: "unauthorized", Data: map[string]any{"code": 401, "reason": "bad token"}}
	})
	auth.OnConnection(Handlers)
	srv.OfPattern(regexp.MustCompile(`^/dyn-[a-z0-9]+$`)).OnConnection(Handlers)
	return srv
}

type welcome struct {
	NSP       string          `json:"nsp"`
	ID        string          `json:"id"`
	Auth      json.RawMessage `json:"auth"`
	Recovered bool            `json:"recovered"`
}

// Handlers registers the contract's common handlers on s.
func Handlers(s *edge.Socket) {
	nsp := s.Namespace()
	_ = s.Emit("welcome", welcome{NSP: nsp.Name(), ID: s.ID(), Auth: json.RawMessage(s.Handshake().Auth), Recovered: s.Recovered()})

	s.On("echo", func(e *edge.Event) {
		if e.WantsAck() {
			_ = e.Ack(e.Args)
			return
		}
		_ = s.Emit("echo", e.Args)
	})
	s.On("join", func(e *edge.Event) {
		s.Join(e.Args.String(0))
		_ = e.Ack(s.Rooms())
	})
	s.On("leave", func(e *edge.Event) {
		s.Leave(e.Args.String(0))
		_ = e.Ack(s.Rooms())
	})
	s.On("rooms", func(e *edge.Event) { _ = e.Ack(s.Rooms()) })
	s.On("to", func(e *edge.Event) {
		var rooms, except []string
		if e.Args.Decode(0, &rooms) != nil || e.Args.Decode(1, &except) != nil {
			return
		}
		event := e.Args.String(2)
		if event == "" {
			return
		}
		_ = nsp.To(rooms...).Except(except...).Emit(event, e.Args.Slice(3))
	})
	s.On("broadcast", func(e *edge.Event) {
		if event := e.Args.String(0); event != "" {
			_ = s.Broadcast().Emit(event, e.Args.Slice(1))
		}
	})
	s.On("volatile", func(e *edge.Event) {
		if event := e.Args.String(0); event != "" {
			_ = s.Volatile().Emit(event, e.Args.Slice(1))
		}
	})
	s.On("ask", func(e *edge.Event) {
		var ms int
		if e.Args.Decode(0, &ms) != nil || !e.WantsAck() {
			return
		}
		_ = s.EmitWithAckFunc(time.Duration(ms)*time.Millisecond, func(a edge.Args, err error) {
			resp := []any{}
			if err == nil {
				for i := range a.Len() {
					v, _ := a.Value(i)
					resp = append(resp, v)
				}
			}
			_ = e.Ack(map[string]any{"err": errText(err), "resp": resp})
		}, "question", e.Args.Slice(1))
	})
	s.On("ask-room", func(e *edge.Event) {
		var ms int
		room := e.Args.String(0)
		if e.Args.Decode(1, &ms) != nil || !e.WantsAck() {
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
			defer cancel()
			answers, err := nsp.To(room).EmitWithAck(ctx, "question-all")
			responses := make([]any, 0, len(answers))
			for _, a := range answers {
				if a.Len() > 0 {
					responses = append(responses, json.RawMessage(a.Raw(0)))
				} else {
					responses = append(responses, nil)
				}
			}
			_ = e.Ack(map[string]any{"err": errText(err), "responses": responses})
		}()
	})
	s.On("disconnect-me", func(e *edge.Event) {
		var close bool
		_ = e.Args.Decode(0, &close)
		s.Disconnect(close)
	})
	s.On("drop-transport", func(*edge.Event) { s.CloseTransport() })
	s.On("binary", func(e *edge.Event) {
		_ = e.Ack(map[string]any{
			"a":    []byte{1, 2, 3},
			"list": []any{map[string]any{"b": []byte{4, 5}}, "x", []byte{6}},
		})
	})
}

func errText(err error) any {
	if err == nil {
		return nil
	}
	if err == edge.ErrAckTimeout {
		return "operation has timed out"
	}
	return err.Error()
}
