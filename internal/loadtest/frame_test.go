package loadtest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		in, nsp string
		ok      bool
		typ     byte
		id      int64
		data    string
	}{
		{`0{"sid":"abc"}`, "/", true, sioConnect, -1, `{"sid":"abc"}`},
		{`0/chat,{"sid":"abc"}`, "/chat", true, sioConnect, -1, `{"sid":"abc"}`},
		{`0/chat`, "/chat", true, sioConnect, -1, ``},
		{`2["msg",{"t":1}]`, "/", true, sioEvent, -1, `["msg",{"t":1}]`},
		{`212["foo"]`, "/", true, sioEvent, 12, `["foo"]`},
		{`3/chat,5[true]`, "/chat", true, sioAck, 5, `[true]`},
		{`30[]`, "/", true, sioAck, 0, `[]`},
		{`4{"message":"Invalid namespace"}`, "/", true, sioConnectError, -1, `{"message":"Invalid namespace"}`},
		{`1`, "/", true, sioDisconnect, -1, ``},
		{`1/chat,`, "/chat", true, sioDisconnect, -1, ``},
		{`2/chat,["x"]`, "/", false, 0, 0, ""},       // other namespace
		{`2["x"]`, "/chat", false, 0, 0, ""},         // root, not ours
		{`2/chatty,["x"]`, "/chat", false, 0, 0, ""}, // prefix is not a match
		{`9["x"]`, "/", false, 0, 0, ""},
		{``, "/", false, 0, 0, ""},
		{`399999999999999999999[]`, "/", false, 0, 0, ""}, // id overflows int64
	}
	for _, tt := range tests {
		p, ok := decodePacket([]byte(tt.in), tt.nsp)
		if ok != tt.ok {
			t.Errorf("decodePacket(%q, %q) ok = %v, want %v", tt.in, tt.nsp, ok, tt.ok)
			continue
		}
		if ok && (p.typ != tt.typ || p.id != tt.id || string(p.data) != tt.data) {
			t.Errorf("decodePacket(%q, %q) = {%c %d %q}, want {%c %d %q}", tt.in, tt.nsp, p.typ, p.id, p.data, tt.typ, tt.id, tt.data)
		}
	}
}

func TestAppendFrames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{string(appendConnect(nil, "/")), "40"},
		{string(appendConnect(nil, "/chat")), "40/chat,"},
		{string(appendEventHead(nil, "/", -1, "broadcast")), `42["broadcast"`},
		{string(appendEventHead(nil, "/", 7, "echo")), `427["echo"`},
		{string(appendEventHead(nil, "/chat", 0, "join")), `42/chat,0["join"`},
		{string(quoteJSON(`a"b`)), `"a\"b"`},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestPayload(t *testing.T) {
	for _, size := range []int{0, 60, 128, 150} {
		pl := newPayload(size)
		b := pl.append(nil, 1234567890123, 123456)
		if size >= 60 && len(b) != size {
			t.Errorf("size %d: payload is %d bytes", size, len(b))
		}
		var v struct {
			T   int64  `json:"t"`
			Seq int64  `json:"seq"`
			Pad string `json:"pad"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.T != 1234567890123 || v.Seq != 123456 {
			t.Errorf("size %d: %s decodes to %+v, %v", size, b, v, err)
		}
		msg := append([]byte(`["msg",`), b...)
		msg = append(msg, ']')
		ts, seq, ok := parseMsg(msg)
		if !ok || ts != 1234567890123 || seq != 123456 {
			t.Errorf("parseMsg(%s) = %d, %d, %v", msg, ts, seq, ok)
		}
	}
	for _, bad := range []string{`["other",{"t":1,"seq":2}]`, `["msg",{"seq":2}]`, `["msg",{"t":1}]`, `["msg",{"t":"x","seq":1}]`} {
		if _, _, ok := parseMsg([]byte(bad)); ok {
			t.Errorf("parseMsg(%s) ok", bad)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://127.0.0.1:3000", "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket"},
		{"ws://127.0.0.1:3000/", "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket"},
		{"https://h/custom/", "wss://h/custom/?EIO=4&transport=websocket"},
		{"http://h/?EIO=3&x=1", "ws://h/socket.io/?EIO=4&transport=websocket&x=1"},
	} {
		got, err := parseTarget(tt.in)
		if err != nil || got.url != tt.want {
			t.Errorf("parseTarget(%q) = %q, %v; want %q", tt.in, got.url, err, tt.want)
		}
	}
	for _, bad := range []string{"ftp://h/", "http://", "::"} {
		if _, err := parseTarget(bad); err == nil {
			t.Errorf("parseTarget(%q) succeeded", bad)
		}
	}
}

func TestResolveDefaults(t *testing.T) {
	r, err := Config{}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r.Clients != defaultClients || r.Namespace != "/" || r.ConnectRate != defaultConnectRate ||
		len(r.targets) != 1 || !strings.HasPrefix(r.targets[0].url, "ws://127.0.0.1:3000/socket.io/") {
		t.Fatalf("defaults = %+v", r)
	}
	for _, c := range []Config{{Namespace: "chat"}, {Clients: -1}, {LocalAddrs: []string{"x"}}, {URLs: []string{"gopher://h"}}} {
		if _, err := c.resolve(); err == nil {
			t.Errorf("resolve(%+v) succeeded", c)
		}
	}
	if got := LoopbackAddrs(3); strings.Join(got, " ") != "127.0.0.1 127.0.0.2 127.0.0.3" {
		t.Errorf("LoopbackAddrs(3) = %v", got)
	}
}

func BenchmarkParseMsg(b *testing.B) {
	pl := newPayload(128)
	msg := append([]byte(`42["msg",`), pl.append(nil, 1234567890123, 4567)...)
	msg = append(msg, ']')
	b.ReportAllocs()
	for b.Loop() {
		p, ok := decodePacket(msg[1:], "/")
		if !ok {
			b.Fatal("decode")
		}
		if _, _, ok := parseMsg(p.data); !ok {
			b.Fatal("parse")
		}
	}
}
