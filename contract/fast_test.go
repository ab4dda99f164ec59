package contract

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// The hand-written codecs must agree with encoding/json both ways.
func TestFastCodecsMatchEncodingJSON(t *testing.T) {
	events := []Event{
		{SID: "s", NS: "/chat", Event: "createRoom", Args: json.RawMessage(`[{"name":"general"}]`), Node: "n1"},
		{SID: "s\"1", NS: "/", Event: "é.ü", Args: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0, 1, 255}}, Node: "n", Data: json.RawMessage(`{"a":1}`), User: "u<1>"},
	}
	for _, ev := range events {
		fast := ev.AppendJSON(nil)
		std, _ := json.Marshal(ev)
		var a, b Event
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatalf("fast encoding %s does not decode: %v", fast, err)
		}
		type plain Event // encoding/json without the custom decoder
		if err := json.Unmarshal(std, (*plain)(&b)); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("fast %+v\nstd  %+v", a, b)
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, std)
		var fromStd Event
		if err := json.Unmarshal(std, &fromStd); err != nil || !reflect.DeepEqual(fromStd, b) {
			t.Fatalf("fast decoder on encoding/json output: %+v %v", fromStd, err)
		}
	}
	replies := []EventReply{
		{Args: json.RawMessage(`[1,"x"]`)},
		{Args: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{9}}, Join: []string{"a", "b\"c"}, Leave: []string{"z"}},
		{Error: &Error{Code: "c", Message: "m"}},
		{},
	}
	for _, r := range replies {
		fast := r.AppendJSON(nil)
		if !json.Valid(fast) {
			t.Fatalf("invalid %s", fast)
		}
		var a EventReply
		if err := json.Unmarshal(fast, &a); err != nil || !reflect.DeepEqual(a, r) {
			t.Fatalf("round trip %s: %+v %v", fast, a, err)
		}
		type plain EventReply
		var b EventReply
		_ = json.Unmarshal(fast, (*plain)(&b))
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("fast %+v std %+v", a, b)
		}
	}
	var e Event
	for _, bad := range []string{`[]`, `{"sid":1}`, `{"attachments":["!!"]}`, `{"args":}`} {
		if err := json.Unmarshal([]byte(bad), &e); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}

func BenchmarkEventCodec(b *testing.B) {
	ev := Event{SID: "abcdefghijklmnopqrst", NS: "/chat", Event: "echo", Args: json.RawMessage(`[{"text":"hello world","n":12345}]`), Node: "node-1"}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = ev.AppendJSON(buf[:0])
			var out Event
			_ = out.UnmarshalJSON(buf)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		type plain Event
		b.ReportAllocs()
		for b.Loop() {
			buf, _ := json.Marshal(plain(ev))
			var out plain
			_ = json.Unmarshal(buf, &out)
		}
	})
}
