package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAppendPacketRoundTrip(t *testing.T) {
	canonical := []string{
		`0`,
		`0{"token":"123"}`,
		`0/admin,`,
		`0/custom,{"token":"abc"}`,
		`0{"sid":"llUcsdiVyBvyp94eAAAO"}`,
		`1`,
		`1/admin,`,
		`2["message",1,"2",{"3":[true]}]`,
		`2456["message-with-ack",1]`,
		`2/admin,12["x",{"z":1,"a":2}]`,
		`3456[1]`,
		`3/admin,0[]`,
		`4{"message":"Invalid namespace"}`,
		`4/random,{"message":"Invalid namespace"}`,
		`4"str"`,
		`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`50-["message"]`,
		`51-/admin,7["up",{"_placeholder":true,"num":0}]`,
		`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`218446744073709551615["max id"]`,
	}
	buf := make([]byte, 0, 256)
	for _, in := range canonical {
		p, err := Decode([]byte(in), 0)
		if err != nil {
			t.Errorf("Decode(%s): %v", in, err)
			continue
		}
		buf = AppendPacket(buf[:0], &p)
		if string(buf) != in {
			t.Errorf("AppendPacket(Decode(%s)) = %s", in, buf)
		}
	}
	// Non-canonical forms decode to packets whose canonical encoding is written.
	for in, want := range map[string]string{
		`0/random`:   `0/random,`,
		`1/custom`:   `1/custom,`,
		`2/,["x"]`:   `2["x"]`,
		`6003-1[]`:   `63-1[]`,
		`2/a,007[1]`: `2/a,7[1]`,
	} {
		p, err := Decode([]byte(in), 0)
		if err != nil {
			t.Errorf("Decode(%s): %v", in, err)
			continue
		}
		if got := AppendPacket(nil, &p); string(got) != want {
			t.Errorf("AppendPacket(Decode(%s)) = %s, want %s", in, got, want)
		}
	}
}

func TestAppendPacket(t *testing.T) {
	tests := []struct {
		p    Packet
		want string
	}{
		{Packet{Type: Connect}, `0`},
		{Packet{Type: Connect, Namespace: "/", Data: []byte(`{"sid":"x"}`)}, `0{"sid":"x"}`},
		{Packet{Type: Disconnect, Namespace: "/admin"}, `1/admin,`},
		{Packet{Type: Event, Namespace: "/", ID: 0, HasID: true, Data: []byte(`["a"]`)}, `20["a"]`},
		{Packet{Type: Event, Namespace: "/", ID: 0, Data: []byte(`["a"]`)}, `2["a"]`},
		{Packet{Type: Ack, Namespace: "/x", ID: 18446744073709551615, HasID: true, Data: []byte(`[]`)}, `3/x,18446744073709551615[]`},
		{Packet{Type: ConnectError, Namespace: "/random", Data: []byte(`{"message":"Invalid namespace"}`)}, `4/random,{"message":"Invalid namespace"}`},
		{Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["x"]`)}, `50-["x"]`},
		{Packet{Type: BinaryAck, Namespace: "/", ID: 5, HasID: true, Data: []byte(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}, `61-5[{"_placeholder":true,"num":0}]`},
		{Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`[]`), Attachments: make([][]byte, 12)}, `512-[]`},
	}
	for _, tt := range tests {
		if got := AppendPacket([]byte("4"), &tt.p); string(got) != "4"+tt.want {
			t.Errorf("AppendPacket(%+v) = %s, want 4%s", tt.p, got, tt.want)
		}
	}
}

type upload struct {
	Name   string            `json:"name"`
	Data   []byte            `json:"data"`
	Thumb  []byte            `json:"thumb,omitempty"`
	Parts  [][]byte          `json:"parts"`
	ByKey  map[string][]byte `json:"byKey"`
	Nested *upload           `json:"nested,omitempty"`
	Skip   []byte            `json:"-"`
	Size   int               `json:"size,string"`
	hidden []byte
}

func TestAppendEventDataBinaryRoundTrip(t *testing.T) {
	in := upload{
		Name:  "file.bin",
		Data:  []byte{0, 1, 2, 255},
		Parts: [][]byte{[]byte("p0"), {}, []byte("p2")},
		ByKey: map[string][]byte{"z": []byte("last"), "a": []byte("first")},
		Nested: &upload{
			Name: "inner", Data: []byte("inner data"), Thumb: []byte("t"),
		},
		Skip:   []byte("never sent"),
		Size:   42,
		hidden: []byte("never sent either"),
	}
	data, att, err := AppendEventData(nil, "upload", []any{in, []byte("second arg")})
	if err != nil {
		t.Fatal(err)
	}
	// Placeholders in depth-first order: data, parts[0..2], byKey a, z, nested.data, nested.thumb, arg 2.
	wantAtt := []string{"\x00\x01\x02\xff", "p0", "", "p2", "first", "last", "inner data", "t", "second arg"}
	if len(att) != len(wantAtt) {
		t.Fatalf("%d attachments, want %d: %q", len(att), len(wantAtt), att)
	}
	for i := range att {
		if string(att[i]) != wantAtt[i] {
			t.Errorf("attachment %d = %q, want %q", i, att[i], wantAtt[i])
		}
	}
	if bytes.Contains(data, []byte("never")) {
		t.Errorf("skipped fields were encoded: %s", data)
	}
	if !bytes.Contains(data, []byte(`"size":"42"`)) {
		t.Errorf(`the ",string" option was ignored: %s`, data)
	}

	// Over the wire: header + attachments through the Decoder.
	wire := AppendPacket(nil, &Packet{Type: BinaryEvent, Namespace: "/", Data: data, Attachments: att})
	var d Decoder
	if _, ok, err := d.Text(wire); ok || err != nil {
		t.Fatalf("header: %v %v", ok, err)
	}
	var p Packet
	for i, a := range att {
		var ok bool
		if p, ok, err = d.Binary(bytes.Clone(a)); err != nil || ok != (i == len(att)-1) {
			t.Fatalf("attachment %d: ok=%v err=%v", i, ok, err)
		}
	}
	if name, err := EventName(p.Data); err != nil || name != "upload" {
		t.Fatalf("EventName = %q, %v", name, err)
	}
	resolved, err := ResolvePlaceholders(p.Data, p.Attachments)
	if err != nil {
		t.Fatal(err)
	}
	var args []json.RawMessage
	if err := json.Unmarshal(resolved, &args); err != nil {
		t.Fatalf("%v: %s", err, resolved)
	}
	var out upload
	if err := json.Unmarshal(args[1], &out); err != nil {
		t.Fatal(err)
	}
	var second []byte
	if err := json.Unmarshal(args[2], &second); err != nil {
		t.Fatal(err)
	}
	in.Skip, in.hidden = nil, nil
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	if string(second) != "second arg" {
		t.Errorf("second arg = %q", second)
	}
}

func TestAppendEventDataExact(t *testing.T) {
	type named []byte
	type inner struct {
		Blob []byte `json:"blob"`
	}
	type Embedded struct {
		E  []byte
		ID int `json:"id"`
	}
	type outer struct {
		Embedded
		Inner  inner          `json:"inner"`
		List   []any          `json:"list"`
		Any    any            `json:"any"`
		NilBin []byte         `json:"nilBin"`
		Ptr    *inner         `json:"ptr"`
		Keys   map[int][]byte `json:"keys"`
	}
	tests := []struct {
		name string
		args []any
		want string
		natt int
	}{
		{"no args", nil, `["ev"]`, 0},
		{"scalars", []any{1, "two", 3.5, true, nil}, `["ev",1,"two",3.5,true,null]`, 0},
		{"bytes", []any{[]byte{1}, named{2}}, `["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, 2},
		{"empty vs nil bytes", []any{[]byte{}, []byte(nil)}, `["ev",{"_placeholder":true,"num":0},null]`, 1},
		{"raw message verbatim", []any{json.RawMessage(`{"z":1, "a":[2,3]}`), json.RawMessage(nil)}, `["ev",{"z":1, "a":[2,3]},null]`, 0},
		{"map any", []any{map[string]any{"b": []byte{2}, "a": []any{[]byte{1}, "x"}, "c": map[string]any{"d": []byte{3}}}},
			`["ev",{"a":[{"_placeholder":true,"num":0},"x"],"b":{"_placeholder":true,"num":1},"c":{"d":{"_placeholder":true,"num":2}}}]`, 3},
		{"struct", []any{outer{
			Embedded: Embedded{E: []byte{1}, ID: 7},
			Inner:    inner{Blob: []byte{2}},
			List:     []any{[]byte{3}, 4},
			Any:      &inner{Blob: []byte{4}},
			Ptr:      nil,
			Keys:     map[int][]byte{10: {5}, 2: {6}}, // keys sort as strings: "10" < "2"
		}}, `["ev",{"E":{"_placeholder":true,"num":0},"id":7,"inner":{"blob":{"_placeholder":true,"num":1}},"list":[{"_placeholder":true,"num":2},4],` +
			`"any":{"blob":{"_placeholder":true,"num":3}},"nilBin":null,"ptr":null,"keys":{"10":{"_placeholder":true,"num":4},"2":{"_placeholder":true,"num":5}}}]`, 6},
		{"pointer to bytes", []any{&[]byte{1}}, `["ev",{"_placeholder":true,"num":0}]`, 1},
		{"array of bytes", []any{[2][]byte{{1}, {2}}}, `["ev",[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]]`, 2},
		{"byte array is numbers", []any{[3]byte{1, 2, 3}}, `["ev",[1,2,3]]`, 0},
		{"html escaping", []any{"<a&b>", map[string]any{"<k>": 1}}, `["ev","\u003ca\u0026b\u003e",{"\u003ck\u003e":1}]`, 0},
		{"text marshaler ip", []any{net.IPv4(10, 0, 0, 1)}, `["ev","10.0.0.1"]`, 0},
		{"marshaler time", []any{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}, `["ev","2024-01-02T03:04:05Z"]`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, att, err := AppendEventData([]byte("prefix"), "ev", tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimPrefix(string(data), "prefix"); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if len(att) != tt.natt {
				t.Errorf("%d attachments, want %d", len(att), tt.natt)
			}
			for i, a := range att {
				if len(a) > 0 && int(a[0]) != i+1 {
					t.Errorf("attachment %d = %v: out of depth-first order", i, a)
				}
			}
		})
	}
}

func TestAppendAckData(t *testing.T) {
	data, att, err := AppendAckData(nil, nil)
	if err != nil || string(data) != `[]` || att != nil {
		t.Errorf("no args: %s %v %v", data, att, err)
	}
	data, att, err = AppendAckData(nil, []any{"ok", []byte("x")})
	if err != nil || string(data) != `["ok",{"_placeholder":true,"num":0}]` || len(att) != 1 {
		t.Errorf("ack: %s %v %v", data, att, err)
	}
	p, err := Decode(AppendPacket(nil, &Packet{Type: BinaryAck, ID: 3, HasID: true, Data: data, Attachments: att}), 0)
	if err != nil || p.Type != BinaryAck || p.ID != 3 || len(p.Attachments) != 1 {
		t.Errorf("decoded ack %+v, %v", p, err)
	}
}

// A marshaler of a named []byte type wins over the placeholder rule.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) { return []byte(`"hex"`), nil }

type ptrMarshaler struct{ V int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }

func TestAppendEventDataMarshalers(t *testing.T) {
	type holder struct {
		H    hexBytes
		P    ptrMarshaler
		Bin  []byte
		Addr *struct{ P ptrMarshaler }
	}
	v := &holder{H: hexBytes{1}, Bin: []byte{2}, Addr: &struct{ P ptrMarshaler }{}}
	data, att, err := AppendAckData(nil, []any{v, *v})
	if err != nil {
		t.Fatal(err)
	}
	// Through a pointer the fields are addressable, so *ptrMarshaler's method is used, as encoding/json does.
	want := `[{"H":"hex","P":"ptr","Bin":{"_placeholder":true,"num":0},"Addr":{"P":"ptr"}},` +
		`{"H":"hex","P":{"V":0},"Bin":{"_placeholder":true,"num":1},"Addr":{"P":"ptr"}}]`
	if string(data) != want {
		t.Errorf("got  %s\nwant %s", data, want)
	}
	if len(att) != 2 {
		t.Errorf("%d attachments", len(att))
	}
}

func TestAppendEventDataErrors(t *testing.T) {
	type cyclic struct {
		Next *cyclic
		B    []byte
	}
	loop := &cyclic{}
	loop.Next = loop
	m := map[string]any{}
	m["self"] = m
	tests := []struct {
		name  string
		event string
		args  []any
		check func(error) bool
	}{
		{"reserved", "connect", nil, func(err error) bool { return errors.Is(err, ErrReservedEvent) }},
		{"reserved disconnecting", "disconnecting", nil, func(err error) bool { return errors.Is(err, ErrReservedEvent) }},
		{"nan", "ev", []any{math.NaN()}, isUnsupportedValue},
		{"inf in map", "ev", []any{map[string]any{"x": math.Inf(1), "b": []byte{1}}}, isUnsupportedValue},
		{"chan", "ev", []any{make(chan int)}, isUnsupportedType},
		{"bad json.Number", "ev", []any{json.Number("0x10")}, func(err error) bool { return err != nil }},
		{"bad json.Number in walked struct", "ev", []any{struct {
			B []byte
			N json.Number
		}{N: "NaN"}}, func(err error) bool { return err != nil }},
		{"chan in binary struct", "ev", []any{struct {
			B []byte
			C chan int
		}{}}, isUnsupportedType},
		{"bad map key", "ev", []any{map[[2]int][]byte{{1, 2}: {1}}}, isUnsupportedType},
		{"pointer cycle", "ev", []any{loop}, isUnsupportedValue},
		{"map cycle", "ev", []any{m}, isUnsupportedValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			data, att, err := AppendEventData(dst, tt.event, tt.args)
			if err == nil || !tt.check(err) {
				t.Fatalf("error = %v (%T)", err, err)
			}
			if string(data) != "keep" || att != nil {
				t.Errorf("on error got data %q att %v, want dst unchanged", data, att)
			}
		})
	}
}

func isUnsupportedValue(err error) bool {
	var e *json.UnsupportedValueError
	return errors.As(err, &e)
}

func isUnsupportedType(err error) bool {
	var e *json.UnsupportedTypeError
	return errors.As(err, &e)
}
