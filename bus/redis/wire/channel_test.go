package wire

import "testing"

func TestChannels(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{BroadcastChannel(DefaultKey, "/"), "socket.io#/#"},
		{RoomChannel(DefaultKey, "/", "room1"), "socket.io#/#room1#"},
		{RoomChannel(DefaultKey, "/", "j0wpkWobCnBucrfTAAAA"), "socket.io#/#j0wpkWobCnBucrfTAAAA#"},
		{BroadcastChannel(DefaultKey, "/custom"), "socket.io#/custom#"},
		{BroadcastPattern(DefaultKey, "/"), "socket.io#/#*"},
		{BroadcastPattern(DefaultKey, "/custom"), "socket.io#/custom#*"},
		{RequestChannel(DefaultKey, "/"), "socket.io-request#/#"},
		{ResponseChannel(DefaultKey, "/"), "socket.io-response#/#"},
		{SpecificResponseChannel(DefaultKey, "/", "vjpYAZ"), "socket.io-response#/#vjpYAZ#"},
		{SpecificResponseChannel("app", "/custom", "he2T7W"), "app-response#/custom#he2T7W#"},
		{PublishChannel(DefaultKey, "/", &Opts{}), "socket.io#/#"},
		{PublishChannel(DefaultKey, "/", &Opts{Rooms: []string{"room1"}}), "socket.io#/#room1#"},
		{PublishChannel(DefaultKey, "/", &Opts{Rooms: []string{"room1", "room2"}}), "socket.io#/#"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestParseBroadcastChannel(t *testing.T) {
	for _, c := range []struct {
		key, nsp, channel string
		room              string
		ok                bool
	}{
		{"socket.io", "/", "socket.io#/#", "", true},
		{"socket.io", "/", "socket.io#/#room1#", "room1", true},
		{"socket.io", "/", "socket.io#/#j0wpkWobCnBucrfTAAAA#", "j0wpkWobCnBucrfTAAAA", true},
		{"socket.io", "/", "socket.io#/#a#b#", "a#b", true}, // rooms may hold '#'
		{"socket.io", "/", "socket.io#/##", "", true},       // the room ""
		{"socket.io", "/", "socket.io#/###", "#", true},
		{"socket.io", "/custom", "socket.io#/custom#x#", "x", true},
		{"socket.io", "/", "socket.io#/custom#x#", "", false}, // another namespace
		{"socket.io", "/custom", "socket.io#/#", "", false},
		{"socket.io", "/", "socket.io#/#room1", "", false}, // no closing '#'
		{"socket.io", "/", "socket.io-request#/#", "", false},
		{"socket.io", "/", "socket.io#/", "", false},
		{"socket.io", "/", "", "", false},
		{"app", "/", "socket.io#/#x#", "", false},
		{"a#b", "/", "a#b#/#x#", "x", true},
	} {
		room, ok := ParseBroadcastChannel(c.key, c.nsp, c.channel)
		if room != c.room || ok != c.ok {
			t.Errorf("ParseBroadcastChannel(%q, %q, %q) = %q, %v; want %q, %v", c.key, c.nsp, c.channel, room, ok, c.room, c.ok)
		}
	}
	// Whatever RoomChannel builds parses back.
	for _, room := range []string{"r", "a#b", "#", "x y", "é"} {
		if got, ok := ParseBroadcastChannel("k", "/n", RoomChannel("k", "/n", room)); !ok || got != room {
			t.Errorf("room %q: got %q, %v", room, got, ok)
		}
	}
}

func BenchmarkParseBroadcastChannel(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseBroadcastChannel(DefaultKey, "/", "socket.io#/#room1#"); !ok {
			b.Fatal("no")
		}
	}
}
