package service

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

func TestArgs(t *testing.T) {
	for _, raw := range []string{"", "null", " [ ] "} {
		a, err := newArgs(json.RawMessage(raw), nil)
		if err != nil || a.Len() != 0 || string(a.JSON()) == "" {
			t.Errorf("%q: %v, %d args, JSON %s", raw, err, a.Len(), a.JSON())
		}
	}
	for _, raw := range []string{`{"a":1}`, `"x"`, `[{"_placeholder":true,"num":1}]`, `[{"_placeholder":true}]`, `[1,`} {
		if _, err := newArgs(json.RawMessage(raw), [][]byte{{1}}); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}

	atts := [][]byte{[]byte("zero"), []byte("one")}
	a, err := newArgs(json.RawMessage(`[{"_placeholder":true,"num":1},[{"k":{"_placeholder":true,"num":0}}],"s",{"_placeholder":false,"num":0}]`), atts)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 4 || a.Raw(-1) != nil || a.Raw(4) != nil || string(a.Raw(2)) != `"s"` || len(a.Attachments()) != 2 {
		t.Errorf("args %+v", a)
	}
	if b, ok := a.Bytes(0); !ok || string(b) != "one" {
		t.Errorf("Bytes(0) = %q, %v", b, ok)
	}
	for _, i := range []int{1, 2, 3, 9} {
		if _, ok := a.Bytes(i); ok {
			t.Errorf("Bytes(%d) ok", i)
		}
	}
	v, err := a.Value(1)
	if want := []any{map[string]any{"k": []byte("zero")}}; err != nil || !reflect.DeepEqual(v, want) {
		t.Errorf("Value(1) = %#v, %v", v, err)
	}
	// Not a placeholder: "_placeholder" is false.
	if v, _ := a.Value(3); !reflect.DeepEqual(v, map[string]any{"_placeholder": false, "num": json.Number("0")}) {
		t.Errorf("Value(3) = %#v", v)
	}
	var ks []struct{ K []byte }
	if err := a.Decode(1, &ks); err != nil || string(ks[0].K) != "zero" {
		t.Errorf("Decode(1) = %+v, %v", ks, err)
	}
	if err := a.Decode(7, &ks); err == nil {
		t.Error("Decode of a missing argument succeeded")
	}
	if _, err := a.Value(7); err == nil {
		t.Error("Value of a missing argument succeeded")
	}
}

func TestEncodeArgs(t *testing.T) {
	echo, _ := newArgs(json.RawMessage(`[{"b":1,"a":{"_placeholder":true,"num":0}}]`), [][]byte{{9}})
	tests := []struct {
		v     any
		want  string
		natts int
	}{
		{nil, `[]`, 0},
		{Values{}, `[]`, 0},
		{Values{nil}, `[null]`, 0},
		{Values{1, []byte{1}, map[string]any{"z": []byte{2}, "a": 1}}, `[1,{"_placeholder":true,"num":0},{"a":1,"z":{"_placeholder":true,"num":1}}]`, 2},
		{[]any{1, 2}, `[[1,2]]`, 0},
		{"x", `["x"]`, 0},
		{json.RawMessage(`{"z":1,"a":2}`), `[{"z":1,"a":2}]`, 0},
		{echo, `[{"b":1,"a":{"_placeholder":true,"num":0}}]`, 1},
		{&echo, `[{"b":1,"a":{"_placeholder":true,"num":0}}]`, 1},
		{(*Args)(nil), `[]`, 0},
		{Args{}, `[]`, 0},
	}
	for _, tt := range tests {
		data, atts, err := encodeArgs(tt.v)
		if err != nil || string(data) != tt.want || len(atts) != tt.natts {
			t.Errorf("encodeArgs(%#v) = %s, %d attachments, %v; want %s, %d", tt.v, data, len(atts), err, tt.want, tt.natts)
		}
		if err := socketio.CheckPlaceholders(data, len(atts)); err != nil {
			t.Errorf("encodeArgs(%#v): %v", tt.v, err)
		}
	}
	if _, _, err := encodeArgs(func() {}); err == nil {
		t.Error("a func encoded")
	}
	var ute *json.UnsupportedTypeError
	if _, _, err := encodeArgs(Values{make(chan int)}); !errors.As(err, &ute) {
		t.Errorf("chan: %v", err)
	}
}
