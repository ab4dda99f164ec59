package socketio

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestDecodeValue(t *testing.T) {
	raw := []byte(`{"a":{"_placeholder":true,"num":1},"list":[{"_placeholder":true,"num":0},"x",7],"n":12345678901234567890}`)
	v, err := DecodeValue(raw, [][]byte{{1}, {2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if b, _ := m["a"].([]byte); !bytes.Equal(b, []byte{2, 3}) {
		t.Fatalf("a = %#v", m["a"])
	}
	list := m["list"].([]any)
	if b, _ := list[0].([]byte); !bytes.Equal(b, []byte{1}) || list[1] != "x" || list[2] != json.Number("7") {
		t.Fatalf("list = %#v", list)
	}
	if m["n"] != json.Number("12345678901234567890") {
		t.Fatalf("big number lost precision: %#v", m["n"])
	}
	// Without attachments a placeholder-shaped object is plain data.
	v, _ = DecodeValue([]byte(`{"_placeholder":true,"num":0}`), nil)
	if _, ok := v.(map[string]any); !ok {
		t.Fatalf("got %#v", v)
	}
	if _, err := DecodeValue([]byte(`{`), nil); err == nil {
		t.Fatal("invalid JSON accepted")
	}
}
