package nats

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
)

var sampleBroadcasts = []bus.Broadcast{
	{},
	{Message: bus.Message{Data: json.RawMessage(`["e"]`)}},
	{Selector: bus.Selector{Rooms: []string{"a", "", "é.ü *>"}}, Message: bus.Message{Data: json.RawMessage(`["e",1]`)}, Volatile: true},
	{Selector: bus.Selector{Except: []string{"x"}}, Message: bus.Message{Data: json.RawMessage(`["bin",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{0, 1, 2, 255}, {}}}},
	{Selector: bus.Selector{Rooms: manyRooms(40), Except: manyRooms(20)}, Message: bus.Message{Data: json.RawMessage(`["big"]`)}},
}

func manyRooms(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(rune('a'+i%26)) + "-room"
	}
	return out
}

// normalize gives empty attachments one form for comparison.
func normalize(b bus.Broadcast) bus.Broadcast {
	for i, a := range b.Attachments {
		if len(a) == 0 {
			b.Attachments[i] = []byte{}
		}
	}
	return b
}

func TestBroadcastRoundTrip(t *testing.T) {
	for i, want := range sampleBroadcasts {
		enc := appendBroadcast(nil, 7, &want)
		setSeq(enc, 99)
		var got bus.Broadcast
		inst, seq, err := decodeBroadcast(enc, &got)
		if err != nil || inst != 7 || seq != 99 {
			t.Fatalf("%d: %v inst %d seq %d", i, err, inst, seq)
		}
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Fatalf("%d: got %+v\nwant %+v", i, got, want)
		}
		// Every strict prefix fails.
		for n := range len(enc) {
			if _, _, err := decodeBroadcast(enc[:n], &got); err == nil {
				t.Fatalf("%d: prefix of %d bytes decoded", i, n)
			}
		}
	}
}

func sampleRequests() []*request {
	sel := bus.Selector{Rooms: []string{"r", "s"}, Except: []string{"x"}}
	return []*request{
		{node: "n1", id: 1, op: opSockets, sel: sel},
		{node: "n1", id: 2, op: opRooms},
		{node: "n1", id: 3, op: opJoin, sel: sel, rooms: []string{"j"}},
		{node: "n1", id: 4, op: opLeave, rooms: []string{"j", "k"}},
		{node: "n1", id: 5, op: opDisconnect, sel: sel, close: true},
		{node: "n1", op: opEmit, msg: bus.Message{Data: json.RawMessage(`["e"]`), Attachments: [][]byte{{1}}}},
		{node: "n1", id: 7, op: opBroadcastAck, bc: sampleBroadcasts[3], timeout: 1500 * time.Millisecond},
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for _, want := range sampleRequests() {
		enc := appendRequest(nil, 5, want)
		got, err := decodeRequest(enc)
		if err != nil {
			t.Fatalf("op %d: %v", want.op, err)
		}
		want.inst = 5
		got.bc, want.bc = normalize(got.bc), normalize(want.bc)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
		for n := range len(enc) {
			if _, err := decodeRequest(enc[:n]); err == nil {
				t.Fatalf("op %d: prefix of %d bytes decoded", want.op, n)
			}
		}
	}
}

func TestReplyRoundTrip(t *testing.T) {
	socks := []bus.SocketInfo{
		{ID: "s1", Node: "n", Rooms: []string{"s1", "r"}, Data: json.RawMessage(`null`), User: "u"},
		{ID: "s2", Node: "n", Handshake: json.RawMessage(`{}`)},
	}
	enc := appendSockets(appendReplyHeader(nil, 3, "n", 4, 5, partResult), socks)
	rep, err := decodeReply(enc)
	if err != nil || rep.node != "n" || rep.inst != 3 || rep.target != 4 || rep.id != 5 || rep.part != partResult {
		t.Fatalf("%+v %v", rep, err)
	}
	got, err := decodeSockets(rep.payload)
	if err != nil || !reflect.DeepEqual(got, socks) {
		t.Fatalf("%+v %v", got, err)
	}
	rooms, err := decodeStrings(appendStrings(nil, []string{"a", "b"}))
	if err != nil || !reflect.DeepEqual(rooms, []string{"a", "b"}) {
		t.Fatal(rooms, err)
	}
	m, err := decodeMessage(appendMessage(nil, &bus.Message{Data: json.RawMessage(`[1]`)}))
	if err != nil || string(m.Data) != `[1]` {
		t.Fatal(m, err)
	}
	if _, err := decodeReply(appendReplyHeader(nil, 3, "n", 4, 5, 0)); err == nil {
		t.Fatal("part 0 decoded")
	}
	if _, err := decodeSockets([]byte{5, 0}); err == nil {
		t.Fatal("truncated sockets decoded")
	}
	kind, inst, node, flags, err := decodeNodeMsg(appendNodeMsg(nil, kindHeartbeat, 9, "node", hbBye))
	if err != nil || kind != kindHeartbeat || inst != 9 || node != "node" || flags != hbBye {
		t.Fatal(kind, inst, node, flags, err)
	}
	if _, _, _, _, err := decodeNodeMsg(appendNodeMsg(nil, kindPing, 9, "", 0)); err == nil {
		t.Fatal("ping without node decoded")
	}
}

func TestSubjects(t *testing.T) {
	s := newSubjects("sb")
	tests := []struct{ got, want string }{
		{s.heartbeat(), "sb.node.hb"},
		{s.all("chat"), "sb.node.bc.chat"},
		{s.room("_", "a.b c"), "sb.node.bc._.a%2Eb%20c"},
		{s.room("chat", "_"), "sb.node.bc.chat.%5F"},
		{s.selected("chat"), "sb.node.sel.chat"},
		{s.request("chat"), "sb.node.req.chat"},
		{s.requests(), "sb.node.req.*"},
		{s.reply("edge 1"), "sb.node.edge%201.rep"},
		{s.ping("e"), "sb.node.e.ping"},
		{s.nodeInbox("e"), "sb.node.e.*"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	for subj, want := range map[string]struct {
		tok     string
		sel, ok bool
	}{
		"sb.node.bc.chat":      {"chat", false, true},
		"sb.node.bc.chat.room": {"chat", false, true},
		"sb.node.sel._":        {"_", true, true},
		"sb.node.sel._.x":      {"_", true, true}, // tagged: one-socket broadcasts
		"sb.node.req.chat":     {"", false, false},
		"other.node.bc.chat":   {"", false, false},
		"sb.node.bc.":          {"", false, false},
	} {
		tok, sel, ok := s.broadcastNamespace(subj)
		if tok != want.tok || sel != want.sel || ok != want.ok {
			t.Errorf("%s: %q %v %v", subj, tok, sel, ok)
		}
	}
	if tok, ok := s.requestNamespace("sb.node.req.chat"); !ok || tok != "chat" {
		t.Error(tok, ok)
	}
	if _, ok := s.requestNamespace("sb.node.req.chat.x"); ok {
		t.Error("nested request subject accepted")
	}
}

func TestRoute(t *testing.T) {
	a := &Adapter{subj: newSubjects("sb"), cfg: Config{SocketID: looksLikeSocketID}}
	ns := newNamespace(a, "/chat", "chat", nil)
	sidX := "AAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		rooms []string
		want  []string
	}{
		{nil, []string{"sb.node.bc.chat"}},
		{[]string{"a"}, []string{"sb.node.bc.chat.a"}},
		{[]string{"a", "b", "a"}, []string{"sb.node.bc.chat.a", "sb.node.bc.chat.b"}},
		{[]string{sidX}, []string{"sb.node.sel.chat.AAAA"}},
		// Socket ids of one node share one copy; another node's get their own.
		{[]string{sidX, "a", "AAAAAAAAAAAAAAAAAAAB", "BBBBAAAAAAAAAAAAAAAA"}, []string{"sb.node.sel.chat.AAAA", "sb.node.bc.chat.a", "sb.node.sel.chat.BBBB"}},
		{manyRooms(40), []string{"sb.node.sel.chat"}}, // 26 distinct rooms
		{manyRooms(16), make([]string, 16)},
	}
	for _, tt := range tests {
		got := ns.route(tt.rooms, nil)
		if len(tt.want) == 16 {
			if len(got) != 16 {
				t.Errorf("%v: %d subjects", tt.rooms, len(got))
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v: %q, want %q", tt.rooms, got, tt.want)
		}
	}
	for room, want := range map[string]bool{sidX: true, "abcdefghij-_ABCDEF09": true, "short": false, "abcdefghij.kABCDEF09": false} {
		if looksLikeSocketID(room) != want {
			t.Errorf("looksLikeSocketID(%q) != %v", room, want)
		}
	}
}

func TestDedupe(t *testing.T) {
	d := dedupe{m: map[uint64]*recent{}}
	if d.seen(1, 5) || !d.seen(1, 5) || d.seen(2, 5) || d.seen(1, 6) {
		t.Fatal("first copies must pass, second copies not")
	}
	for s := uint64(100); s < 100+dedupeWindow; s++ {
		d.seen(1, s)
	}
	if d.seen(1, 5) {
		t.Fatal("window does not slide")
	}
	d.prune()
	d.prune()
	d.prune()
	if len(d.m) != 0 {
		t.Fatalf("idle senders kept: %d", len(d.m))
	}
}
