package wire

import (
	"encoding/json"
	"testing"
)

// A typical chat event: 145 bytes of msgpack.
var (
	benchData = json.RawMessage(`["chat",{"user":"alice","text":"hi there","ts":1795649902865,"score":4.5,"tags":["a","b"]}]`)
	benchOpts = Opts{Rooms: []string{"room1"}, Except: []string{"j0wpkWobCnBucrfTAAAA"}}
)

func BenchmarkEncodeBroadcast(b *testing.B) {
	enc, err := EncodeBroadcast("vjpYAZ", "/", benchData, nil, nil, benchOpts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportMetric(float64(len(enc)), "msg-bytes")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeBroadcast("vjpYAZ", "/", benchData, nil, nil, benchOpts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBroadcast(b *testing.B) {
	enc, err := EncodeBroadcast("vjpYAZ", "/", benchData, nil, nil, benchOpts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportMetric(float64(len(enc)), "msg-bytes")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBroadcast(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeBroadcastBinary(b *testing.B) {
	data := json.RawMessage(`["upload",{"name":"a.png","file":{"_placeholder":true,"num":0}}]`)
	atts := [][]byte{make([]byte, 4096)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeBroadcast("vjpYAZ", "/", data, atts, nil, benchOpts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRequestJSON(b *testing.B) {
	msg := []byte(`{"uid":"vjpYAZ","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room9"]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(msg); err != nil {
			b.Fatal(err)
		}
	}
}
