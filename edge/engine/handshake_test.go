package engine

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestPackedHandshakeRoundTrip(t *testing.T) {
	now := time.Now()
	cases := []*Handshake{
		{Header: http.Header{}, Query: map[string]string{}},
		{
			Header:     http.Header{"Cookie": {"a=1", "b=2"}, "User-Agent": {"x"}, "Empty": {""}},
			Query:      map[string]string{"EIO": "4", "transport": "websocket", "k": "ünïcode & more"},
			RemoteAddr: "[::1]:5555", URL: "/socket.io/?EIO=4&transport=websocket", Secure: true, Time: now,
		},
	}
	for i, h := range cases {
		p := packHandshake(h)
		got := p.unpack()
		if !reflect.DeepEqual(got, h) {
			t.Errorf("case %d: got %+v, want %+v", i, got, h)
		}
		got.Header.Set("Cookie", "changed") // a copy: the session's stays as it was
		if again := p.unpack(); again.Header.Get("Cookie") == "changed" && h.Header.Get("Cookie") != "changed" {
			t.Errorf("case %d: unpack returned shared maps", i)
		}
	}
	var none packedHandshake
	nilPacked := packHandshake(nil)
	if none.unpack() != nil || nilPacked.unpack() != nil {
		t.Error("a session without a handshake must unpack to nil")
	}
}
