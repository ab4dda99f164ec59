package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/service"
)

func TestHandleAuth(t *testing.T) {
	e := setup(t, service.Options{})
	_, err := e.c.HandleAuth("/chat", func(_ context.Context, r *contract.AuthRequest) (*service.AuthResult, error) {
		var auth struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(r.Auth, &auth); err != nil {
			return nil, err
		}
		switch auth.Token {
		case "secret":
			if r.SID != "s1" || r.NS != "/chat" || r.Node != "n1" || r.Handshake.Query["v"] != "2" {
				return nil, errors.New("unexpected request")
			}
			return &service.AuthResult{Data: map[string]any{"role": "admin"}, User: "u1", Join: []string{"admins"}}, nil
		case "bare":
			return nil, nil
		case "expired":
			return nil, &service.ConnectError{Message: "token expired", Data: map[string]int{"retry_in": 30}}
		case "panic":
			panic("boom")
		}
		return nil, errors.New("not authorized")
	})
	if err != nil {
		t.Fatal(err)
	}
	e.flush()
	req := func(token string) string {
		return string(e.request("sb.auth.chat", contract.AuthRequest{
			SID: "s1", NS: "/chat", Node: "n1",
			Auth:      json.RawMessage(`{"token":"` + token + `"}`),
			Handshake: contract.Handshake{Query: map[string]string{"v": "2"}, Address: "127.0.0.1", URL: "/socket.io/?v=2"},
		}))
	}
	for token, want := range map[string]string{
		"secret":  `{"ok":true,"data":{"role":"admin"},"user":"u1","join":["admins"]}`,
		"bare":    `{"ok":true}`,
		"expired": `{"ok":false,"message":"token expired","data":{"retry_in":30}}`,
		"wrong":   `{"ok":false,"message":"not authorized"}`,
		"panic":   `{"ok":false,"message":"authentication unavailable"}`,
	} {
		if got := req(token); got != want {
			t.Errorf("token %q: reply %s, want %s", token, got, want)
		}
	}
	// Every namespace with "*".
	if _, err := e.c.HandleAuth("*", func(context.Context, *contract.AuthRequest) (*service.AuthResult, error) {
		return &service.AuthResult{User: "any"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.flush()
	if got := string(e.request("sb.auth._", contract.AuthRequest{SID: "s2", NS: "/"})); got != `{"ok":true,"user":"any"}` {
		t.Errorf("root namespace reply %s", got)
	}
}

func TestOnConnectDisconnect(t *testing.T) {
	e := setup(t, service.Options{})
	conns := make(chan *contract.Conn, 2)
	discs := make(chan *contract.Disc, 2)
	if _, err := e.c.OnConnect("/chat", func(_ context.Context, m *contract.Conn) {
		if m.SID == "panic" {
			panic("boom")
		}
		conns <- m
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.OnDisconnect("*", func(_ context.Context, m *contract.Disc) { discs <- m }); err != nil {
		t.Fatal(err)
	}
	e.flush()
	e.publish("sb.conn.chat", contract.Conn{SID: "panic", NS: "/chat"}) // recovered, then the next one arrives
	e.publish("sb.conn.chat", `{"sid":"s1","ns":"/chat","node":"n1","handshake":{"headers":{"x-a":["1"]},"query":{},"address":"::1","url":"/socket.io/","auth":{"t":1}},"user":"u1","recovered":true}`)
	c := <-conns
	if c.SID != "s1" || c.Node != "n1" || c.User != "u1" || !c.Recovered || c.Handshake.Headers["x-a"][0] != "1" || string(c.Handshake.Auth) != `{"t":1}` {
		t.Errorf("conn %+v", c)
	}
	e.publish("sb.disc.game", contract.Disc{SID: "s9", NS: "/game", Node: "n2", Reason: "transport close"})
	if d := <-discs; d.SID != "s9" || d.NS != "/game" || d.Reason != "transport close" {
		t.Errorf("disc %+v", d)
	}
}
