package socketio

import (
	"encoding/json"
	"testing"
)

// A typical chat event, 150 bytes on the wire.
var benchEvent = []byte(`2["chat message",{"room":"general","user":{"id":12345,"name":"alice"},"text":"hello world, this is a fairly typical message","ts":1700000000000}]`)

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := Decode(benchEvent, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONValid is the baseline for Decode: encoding/json's validation of the same payload.
func BenchmarkJSONValid(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if !json.Valid(benchEvent[1:]) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkDecoderText(b *testing.B) {
	msg := []byte(`2/chat,17["chat message",{"room":"general","user":{"id":12345,"name":"alice"},"text":"hello world","ts":1700000000000}]`)
	var d Decoder
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, ok, err := d.Text(msg); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkDecoderBinary(b *testing.B) {
	header := []byte(`52-["upload",{"name":"a.png","data":{"_placeholder":true,"num":0},"thumb":{"_placeholder":true,"num":1}}]`)
	a0, a1 := make([]byte, 4096), make([]byte, 512)
	var d Decoder
	b.ReportAllocs()
	for b.Loop() {
		d.Text(header)
		d.Binary(a0)
		if _, ok, err := d.Binary(a1); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkAppendPacket(b *testing.B) {
	p, err := Decode(benchEvent, 0)
	if err != nil {
		b.Fatal(err)
	}
	p.Namespace, p.ID, p.HasID = "/chat", 12345, true
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		buf = AppendPacket(buf[:0], &p)
	}
}

func BenchmarkSplitArray(b *testing.B) {
	data := benchEvent[1:]
	elems := make([][]byte, 0, 8)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var err error
		if elems, err = SplitArray(elems[:0], data); err != nil || len(elems) != 2 {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEventName(b *testing.B) {
	data := benchEvent[1:]
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendEventName(buf[:0], data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEventData(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.Run("simple", func(b *testing.B) {
		args := []any{"general", "hello world, this is a fairly typical message", 12345, 1700000000000.0, true}
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, _, err = AppendEventData(buf[:0], "chat message", args); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		args := []any{map[string]any{"room": "general", "user": map[string]any{"id": 12345, "name": "alice"}, "text": "hello", "ts": 1700000000000}}
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, _, err = AppendEventData(buf[:0], "chat message", args); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		args := []any{json.RawMessage(`{"room":"general","user":{"id":12345,"name":"alice"},"text":"hello","ts":1700000000000}`)}
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, _, err = AppendEventData(buf[:0], "chat message", args); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nested_binary", func(b *testing.B) {
		type file struct {
			Name  string `json:"name"`
			Data  []byte `json:"data"`
			Thumb []byte `json:"thumb,omitempty"`
		}
		args := []any{
			map[string]any{"files": []any{
				&file{Name: "a.png", Data: make([]byte, 4096), Thumb: make([]byte, 256)},
				&file{Name: "b.png", Data: make([]byte, 1024)},
			}, "note": "two files"},
			[]byte("raw"),
		}
		b.ReportAllocs()
		for b.Loop() {
			var err error
			var att [][]byte
			if buf, att, err = AppendEventData(buf[:0], "upload", args); err != nil || len(att) != 4 {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkResolvePlaceholders(b *testing.B) {
	data := []byte(`["upload",{"name":"a.png","data":{"_placeholder":true,"num":0},"thumb":{"_placeholder":true,"num":1}}]`)
	att := [][]byte{make([]byte, 4096), make([]byte, 512)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ResolvePlaceholders(data, att); err != nil {
			b.Fatal(err)
		}
	}
}
