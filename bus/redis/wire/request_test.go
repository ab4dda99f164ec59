package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

const fetchResponse = `{"requestId":"023OHF","sockets":[{"id":"j0wpkWobCnBucrfTAAAA","handshake":{"headers":{"sec-websocket-version":"13","sec-websocket-key":"hwhpC+JQfL++EI5SH8aWAg==","connection":"Upgrade","upgrade":"websocket","sec-websocket-extensions":"permessage-deflate; client_max_window_bits","host":"127.0.0.1:4102"},"time":"Wed Nov 25 2026 23:38:22 GMT+0000 (Coordinated Universal Time)","address":"::ffff:127.0.0.1","xdomain":false,"secure":false,"issued":1795649902865,"url":"/socket.io/?EIO=4&transport=websocket","query":{"EIO":"4","transport":"websocket"},"auth":{}},"rooms":["j0wpkWobCnBucrfTAAAA","room1"],"data":{}}]}`

const fetchHandshake = `{"headers":{"sec-websocket-version":"13","sec-websocket-key":"hwhpC+JQfL++EI5SH8aWAg==","connection":"Upgrade","upgrade":"websocket","sec-websocket-extensions":"permessage-deflate; client_max_window_bits","host":"127.0.0.1:4102"},"time":"Wed Nov 25 2026 23:38:22 GMT+0000 (Coordinated Universal Time)","address":"::ffff:127.0.0.1","xdomain":false,"secure":false,"issued":1795649902865,"url":"/socket.io/?EIO=4&transport=websocket","query":{"EIO":"4","transport":"websocket"},"auth":{}}`

// JSON requests captured in classic mode; EncodeRequest reproduces each one exactly.
var requestSamples = []struct {
	name string
	json string
	want Request
}{
	{"fetchSockets (5)", `{"uid":"vjpYAZ","requestId":"023OHF","type":5,"opts":{"rooms":[],"except":[]}}`,
		Request{Type: RemoteFetch, UID: "vjpYAZ", RequestID: "023OHF", Opts: &Opts{Rooms: []string{}, Except: []string{}}}},
	{"socketsJoin (2)", `{"uid":"vjpYAZ","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room9"]}`,
		Request{Type: RemoteJoin, UID: "vjpYAZ", Opts: &Opts{Rooms: []string{"room1"}, Except: []string{}}, Rooms: []string{"room9"}}},
	{"socketsLeave (3)", `{"uid":"vjpYAZ","type":3,"opts":{"rooms":["room9"],"except":[]},"rooms":["room9"]}`,
		Request{Type: RemoteLeave, UID: "vjpYAZ", Opts: &Opts{Rooms: []string{"room9"}, Except: []string{}}, Rooms: []string{"room9"}}},
	{"serverSideEmit (6)", `{"uid":"vjpYAZ","type":6,"data":["hello-servers",42]}`,
		Request{Type: ServerSideEmit, UID: "vjpYAZ", Data: json.RawMessage(`["hello-servers",42]`)}},
	{"serverSideEmitWithAck (6)", `{"uid":"vjpYAZ","requestId":"WiXuK4","type":6,"data":["ping-servers"]}`,
		Request{Type: ServerSideEmit, UID: "vjpYAZ", RequestID: "WiXuK4", Data: json.RawMessage(`["ping-servers"]`)}},
	{"allRooms (1)", `{"uid":"vjpYAZ","requestId":"hFx2Tt","type":1}`,
		Request{Type: AllRooms, UID: "vjpYAZ", RequestID: "hFx2Tt"}},
	{"emitter socketsJoin (2, no uid)", `{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room7"]}`,
		Request{Type: RemoteJoin, Opts: &Opts{Rooms: []string{"room1"}, Except: []string{}}, Rooms: []string{"room7"}}},
	{"emitter serverSideEmit (6)", `{"uid":"emitter","type":6,"data":["hello-servers","from-emitter"]}`,
		Request{Type: ServerSideEmit, UID: "emitter", Data: json.RawMessage(`["hello-servers","from-emitter"]`)}},
	{"disconnectSockets (4)", `{"uid":"vjpYAZ","type":4,"opts":{"rooms":["room1"],"except":[]},"close":true}`,
		Request{Type: RemoteDisconnect, UID: "vjpYAZ", Opts: &Opts{Rooms: []string{"room1"}, Except: []string{}}, Close: true}},
	// Not captured (8.x no longer sends them) but still answered: the legacy shapes.
	{"legacy SOCKETS (0)", `{"uid":"abc","requestId":"r1","type":0,"rooms":["a","b"]}`,
		Request{Type: Sockets, UID: "abc", RequestID: "r1", Rooms: []string{"a", "b"}}},
	{"legacy remoteJoin (2)", `{"requestId":"r2","type":2,"sid":"s1","room":"x"}`,
		Request{Type: RemoteJoin, RequestID: "r2", SID: "s1", Room: "x"}},
	{"legacy remoteDisconnect (4)", `{"requestId":"r3","type":4,"close":false,"sid":"s1"}`,
		Request{Type: RemoteDisconnect, RequestID: "r3", SID: "s1"}},
}

func TestRequestSamples(t *testing.T) {
	for _, s := range requestSamples {
		t.Run(s.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(s.json))
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Fatalf("DecodeRequest:\n got %+v (opts %+v)\nwant %+v (opts %+v)", got, got.Opts, s.want, s.want.Opts)
			}
			enc, err := EncodeRequest(&got)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			if string(enc) != s.json {
				t.Fatalf("EncodeRequest:\n got %s\nwant %s", enc, s.json)
			}
		})
	}
}

// JSON responses captured in classic mode; EncodeResponse reproduces each one exactly.
var responseSamples = []struct {
	name string
	json string
	want Response
}{
	{"client count (8)", `{"type":8,"requestId":"yaWZSl","clientCount":1}`,
		Response{Type: BroadcastClientCount, RequestID: "yaWZSl", ClientCount: 1}},
	{"fetchSockets (5)", fetchResponse, Response{RequestID: "023OHF", Sockets: []SocketInfo{{
		ID:        "j0wpkWobCnBucrfTAAAA",
		Handshake: json.RawMessage(fetchHandshake),
		Rooms:     []string{"j0wpkWobCnBucrfTAAAA", "room1"},
		Data:      json.RawMessage(`{}`),
	}}}},
	{"serverSideEmit ack (6)", `{"type":6,"requestId":"WiXuK4","data":"pong-from-B"}`,
		Response{Type: ServerSideEmit, RequestID: "WiXuK4", Data: json.RawMessage(`"pong-from-B"`)}},
	{"allRooms (1)", `{"requestId":"hFx2Tt","rooms":["j0wpkWobCnBucrfTAAAA","room1"]}`,
		Response{RequestID: "hFx2Tt", Rooms: []string{"j0wpkWobCnBucrfTAAAA", "room1"}}},
	{"allRooms, none", `{"requestId":"hFx2Tt","rooms":[]}`, Response{RequestID: "hFx2Tt", Rooms: []string{}}},
	{"legacy SOCKETS (0)", `{"requestId":"r1","sockets":["a","b"]}`, Response{RequestID: "r1", SocketIDs: []string{"a", "b"}}},
	{"fetchSockets, none", `{"requestId":"r1","sockets":[]}`, Response{RequestID: "r1", Sockets: []SocketInfo{}}},
	{"legacy join ack", `{"requestId":"r2"}`, Response{RequestID: "r2"}},
	// Switchboard extensions: the answering node's uid, the matched count of a join/leave/disconnect
	// request carrying a requestId, and the user of a fetched socket.
	{"switchboard join answer", `{"requestId":"r3","uid":"sb-1","matched":0}`,
		Response{RequestID: "r3", UID: "sb-1", Matched: new(int)}},
	{"switchboard fetch answer", `{"requestId":"r4","uid":"sb-1","sockets":[{"id":"s1","rooms":["s1"],"data":null,"user":"alice"}]}`,
		Response{RequestID: "r4", UID: "sb-1", Sockets: []SocketInfo{{ID: "s1", Rooms: []string{"s1"}, Data: json.RawMessage(`null`), User: "alice"}}}},
}

func TestResponseSamples(t *testing.T) {
	for _, s := range responseSamples {
		t.Run(s.name, func(t *testing.T) {
			got, err := DecodeResponse([]byte(s.json))
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Fatalf("DecodeResponse:\n got %+v\nwant %+v", got, s.want)
			}
			enc, err := EncodeResponse(&got)
			if err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			if string(enc) != s.json {
				t.Fatalf("EncodeResponse:\n got %s\nwant %s", enc, s.json)
			}
		})
	}
}

func TestRequestEncodingChoice(t *testing.T) {
	// SERVER_SIDE_EMIT with binary goes as msgpack (Node peers accept it and get real Buffers).
	q := Request{Type: ServerSideEmit, UID: "go1", Data: json.RawMessage(`["file",{"_placeholder":true,"num":0}]`),
		Attachments: [][]byte{{0xca, 0xfe}}}
	enc, err := EncodeRequest(&q)
	if err != nil {
		t.Fatal(err)
	}
	if enc[0] == '{' {
		t.Fatalf("binary request encoded as JSON: %s", enc)
	}
	got, err := DecodeRequest(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, q) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, q)
	}

	// A BROADCAST_ACK carrying a Buffer.
	s := Response{Type: BroadcastAck, RequestID: "r", Packet: json.RawMessage(`{"img":{"_placeholder":true,"num":0}}`),
		Attachments: [][]byte{{1}}}
	enc, err = EncodeResponse(&s)
	if err != nil {
		t.Fatal(err)
	}
	gotS, err := DecodeResponse(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotS, s) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", gotS, s)
	}

	// Client count stays JSON.
	enc, err = EncodeResponse(&Response{Type: BroadcastClientCount, RequestID: "r", ClientCount: 0})
	if err != nil || string(enc) != `{"type":8,"requestId":"r","clientCount":0}` {
		t.Fatalf("client count: %s, %v", enc, err)
	}
}

func TestRequestErrors(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{}`, `{"type":"2"}`, `{"type":-1}`, `{"type":1.5}`, `{"type":1,"uid":3}`,
		`{"type":2,"rooms":[null]}`, `{"type":2,"opts":[]}`, "\x80", "\x81\xa4type\x01\x00",
		"\x81\xa4type", "\xdf\xff\xff\xff\xff",
		`{"type":7,"uid":"x"}`, `{"type":6,"uid":"x"}`, `{"type":6,"data":"ev"}`, `{"type":1,"type":1}`,
	} {
		if _, err := DecodeRequest([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeRequest(%q) = %v, want ErrMalformed", in, err)
		}
	}
	for _, q := range []Request{
		{Type: ServerSideEmit, Data: json.RawMessage(`[1,`)},
		{Type: ServerSideEmit},
		{Type: ServerSideEmit, Data: json.RawMessage(`{}`)},
		{Type: BroadcastRequest, UID: "x", RequestID: "y"},
		{Type: BroadcastRequest, Packet: &Packet{Data: json.RawMessage(`{}`)}},
		{Type: BroadcastRequest, Packet: &Packet{Data: json.RawMessage(`[{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1}}}},
	} {
		if _, err := EncodeRequest(&q); !errors.Is(err, ErrInvalidData) {
			t.Errorf("EncodeRequest(%+v) = %v, want ErrInvalidData", q, err)
		}
	}
	if _, err := EncodeResponse(&Response{Sockets: []SocketInfo{}, SocketIDs: []string{}}); !errors.Is(err, ErrInvalidData) {
		t.Errorf("EncodeResponse with both socket lists: %v", err)
	}
}

func TestRequestTypeString(t *testing.T) {
	if s := RemoteFetch.String(); s != "REMOTE_FETCH" {
		t.Error(s)
	}
	if s := RequestType(42).String(); s != "RequestType(42)" {
		t.Error(s)
	}
}

// A JSON request carries placeholder-shaped objects as plain data: there is no binary in JSON.
func TestRequestLiteralPlaceholder(t *testing.T) {
	in := `{"uid":"n1","type":6,"data":["ev",{"_placeholder":true,"num":5}]}`
	q, err := DecodeRequest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(q.Data) != `["ev",{"_placeholder":true,"num":5}]` || q.Attachments != nil {
		t.Fatalf("got %s %v", q.Data, q.Attachments)
	}
	enc, err := EncodeRequest(&q)
	if err != nil || string(enc) != in {
		t.Fatalf("got %s, %v", enc, err)
	}
}

// JSON is read as JSON.parse reads it: exact keys, escapes resolved, numbers as numbers.
func TestRequestJSONDetails(t *testing.T) {
	q, err := DecodeRequest([]byte(` {"UID":"x"}`))
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("leading space: %+v %v (the reference takes it for msgpack)", q, err)
	}
	q, err = DecodeRequest([]byte(`{"UID":"x","uid":"n\u00e9","type":2.0,"opts":{"rooms":[1,"a"]},"rooms":["\ud83d\ude00"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Request{Type: RemoteJoin, UID: "né", Opts: &Opts{Rooms: []string{"1", "a"}, Except: []string{}}, Rooms: []string{"😀"}}
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("got %+v %+v", q, q.Opts)
	}
	if _, err := DecodeRequest([]byte(`{"type":1,"type":1}`)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("duplicate key: %v", err)
	}
}

func TestResponseExtensionErrors(t *testing.T) {
	for _, in := range []string{
		`{"requestId":"r","matched":-1}`, `{"requestId":"r","matched":"2"}`, `{"requestId":"r","uid":1}`,
		`{"requestId":"r","matched":1,"matched":2}`, `{"requestId":"r","sockets":[{"id":"a","user":5}]}`,
	} {
		if s, err := DecodeResponse([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeResponse(%s) = %+v, %v, want ErrMalformed", in, s, err)
		}
	}
}
