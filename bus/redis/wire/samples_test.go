package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"
)

// Captured from real traffic: Redis 7.0, socket.io 4.8.4, @socket.io/redis-adapter 8.3.0,
// @socket.io/redis-emitter 5.1.0 (redis-adapter-wire-samples.md, mode classic).
const (
	hexPlain       = "93a6766a7059415a83a47479706502a46461746194a5706c61696ea568656c6c6f0182a161c3a166cb3ff8000000000000a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380"
	hexBin         = "93a6766a7059415a83a47479706502a46461746192a362696ec403010203a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380"
	hexMulti       = "93a6766a7059415a83a47479706502a46461746192a56d756c7469a178a36e7370a12f83a5726f6f6d7392a5726f6f6d31a5726f6f6d32a665786365707491a5726f6f6d33a5666c61677382a8766f6c6174696c65c3a8636f6d7072657373c2"
	hexDirect      = "93a6766a7059415a83a47479706502a46461746192a664697265637401a36e7370a12f83a5726f6f6d7391b46a3077706b576f62436e42756372665441414141a665786365707490a5666c61677380"
	hexCustom      = "93a668653254375783a47479706502a46461746192a96e73702d6576656e7401a36e7370a72f637573746f6d83a5726f6f6d7390a665786365707490a5666c61677380"
	hexAskRequest  = "85a3756964a6766a7059415aa9726571756573744964a67961575a536ca47479706507a67061636b657483a47479706502a46461746192a361736ba171a36e7370a12fa46f70747383a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677381a774696d656f7574cd01f4"
	hexAckResponse = "83a47479706509a9726571756573744964a67961575a536ca67061636b6574b2616e737765722d66726f6d2d636c69656e74"
	hexEmitterBin  = "93a7656d697474657283a47479706502a46461746193ac66726f6d2d656d6974746572a26531c401ffa36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490"
	hexEmitterRoom = "93a7656d697474657283a47479706502a46461746192b166726f6d2d656d69747465722d726f6f6d02a36e7370a12f83a5726f6f6d7391a5726f6f6d31a5666c61677381a8766f6c6174696c65c3a665786365707491a66e6f626f6479"
	hexEmitterNsp  = "93a7656d697474657283a47479706502a46461746192b066726f6d2d656d69747465722d6e737003a36e7370a72f637573746f6d83a5726f6f6d7390a5666c61677380a665786365707490"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }

type broadcastSample struct {
	name    string
	hex     string
	want    Broadcast
	adapter bool // produced by the adapter: key order uid, {type, data, nsp}, {rooms, except, flags}
}

var broadcastSamples = []broadcastSample{
	{"plain", hexPlain, Broadcast{
		UID:    "vjpYAZ",
		Packet: Packet{Type: 2, NSP: "/", Data: json.RawMessage(`["plain","hello",1,{"a":true,"f":1.5}]`)},
		Opts:   Opts{Rooms: []string{}, Except: []string{}},
	}, true},
	{"bin", hexBin, Broadcast{
		UID: "vjpYAZ",
		Packet: Packet{Type: 2, NSP: "/", Data: json.RawMessage(`["bin",{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{{1, 2, 3}}},
		Opts: Opts{Rooms: []string{"room1"}, Except: []string{}},
	}, true},
	{"multi", hexMulti, Broadcast{
		UID:    "vjpYAZ",
		Packet: Packet{Type: 2, NSP: "/", Data: json.RawMessage(`["multi","x"]`)},
		Opts: Opts{Rooms: []string{"room1", "room2"}, Except: []string{"room3"},
			Flags: Flags{Volatile: true, Compress: ptr(false)}},
	}, true},
	{"socket-id room", hexDirect, Broadcast{
		UID:    "vjpYAZ",
		Packet: Packet{Type: 2, NSP: "/", Data: json.RawMessage(`["direct",1]`)},
		Opts:   Opts{Rooms: []string{"j0wpkWobCnBucrfTAAAA"}, Except: []string{}},
	}, true},
	{"custom namespace", hexCustom, Broadcast{
		UID:    "he2T7W",
		Packet: Packet{Type: 2, NSP: "/custom", Data: json.RawMessage(`["nsp-event",1]`)},
		Opts:   Opts{Rooms: []string{}, Except: []string{}},
	}, true},
	{"emitter bin", hexEmitterBin, Broadcast{
		UID: "emitter",
		Packet: Packet{Type: 2, NSP: "/", Data: json.RawMessage(`["from-emitter","e1",{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{{0xff}}},
		Opts: Opts{Rooms: []string{}, Except: []string{}},
	}, false},
	{"emitter room", hexEmitterRoom, Broadcast{
		UID:    "emitter",
		Packet: Packet{Type: 2, NSP: "/", Data: json.RawMessage(`["from-emitter-room",2]`)},
		Opts:   Opts{Rooms: []string{"room1"}, Except: []string{"nobody"}, Flags: Flags{Volatile: true}},
	}, false},
	{"emitter nsp", hexEmitterNsp, Broadcast{
		UID:    "emitter",
		Packet: Packet{Type: 2, NSP: "/custom", Data: json.RawMessage(`["from-emitter-nsp",3]`)},
		Opts:   Opts{Rooms: []string{}, Except: []string{}},
	}, false},
}

func encodeBroadcast(tb testing.TB, m *Broadcast) []byte {
	tb.Helper()
	b, err := EncodeBroadcast(m.UID, m.Packet.NSP, m.Packet.Data, m.Packet.Attachments, m.Packet.ID, m.Opts)
	if err != nil {
		tb.Fatalf("EncodeBroadcast(%+v): %v", m, err)
	}
	return b
}

func TestBroadcastSamples(t *testing.T) {
	for _, s := range broadcastSamples {
		t.Run(s.name, func(t *testing.T) {
			raw := unhex(t, s.hex)
			got, err := DecodeBroadcast(raw)
			if err != nil {
				t.Fatalf("DecodeBroadcast: %v", err)
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Fatalf("DecodeBroadcast:\n got %+v\nwant %+v", got, s.want)
			}
			enc := encodeBroadcast(t, &got)
			if s.adapter && !bytes.Equal(enc, raw) {
				t.Fatalf("EncodeBroadcast is not byte-exact:\n got %x\nwant %x", enc, raw)
			}
			again, err := DecodeBroadcast(enc)
			if err != nil {
				t.Fatalf("DecodeBroadcast(re-encoded %x): %v", enc, err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Fatalf("decode(encode(x)) != x:\n got %+v\nwant %+v", again, got)
			}
		})
	}
}

func TestBroadcastWithAckRequestSample(t *testing.T) {
	raw := unhex(t, hexAskRequest)
	got, err := DecodeRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Request{
		Type: BroadcastRequest, UID: "vjpYAZ", RequestID: "yaWZSl",
		Packet: &Packet{Type: 2, NSP: "/", Data: json.RawMessage(`["ask","q"]`)},
		Opts:   &Opts{Rooms: []string{"room1"}, Except: []string{}, Flags: Flags{Timeout: ptr(500)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeRequest:\n got %+v %+v %+v\nwant %+v %+v %+v", got, got.Packet, got.Opts, want, want.Packet, want.Opts)
	}
	enc, err := EncodeRequest(&got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, raw) {
		t.Fatalf("EncodeRequest is not byte-exact:\n got %x\nwant %x", enc, raw)
	}
}

func TestBroadcastAckResponseSample(t *testing.T) {
	raw := unhex(t, hexAckResponse)
	got, err := DecodeResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Response{Type: BroadcastAck, RequestID: "yaWZSl", Packet: json.RawMessage(`"answer-from-client"`)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeResponse:\n got %+v\nwant %+v", got, want)
	}
	enc, err := EncodeResponse(&got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, raw) {
		t.Fatalf("EncodeResponse is not byte-exact:\n got %x\nwant %x", enc, raw)
	}
}
