package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

type textKey struct{ a, b int }

func (k textKey) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%d-%d", k.a, k.b), nil }

type zeroer struct{ N int }

func (z zeroer) IsZero() bool { return z.N < 0 }

type ptrZeroer struct{ N int }

func (z *ptrZeroer) IsZero() bool { return z.N == 7 }

type namedString string
type namedFloat float32

type diffInner struct {
	E1     int
	Shadow string `json:"shadow"`
	Twin   int
	Deep   string
}

type DiffOther struct {
	E2     string
	Shadow string // "Shadow", not "shadow": no conflict
	Twin   int    // conflicts with diffInner.Twin at the same depth: both hidden
	Tagged int    `json:"Deep"` // tagged beats the untagged diffInner.Deep at the same depth
}

type diffLeaf struct{ Leaf int }

type diffMid struct {
	diffLeaf
	Leaf2 string
}

type diffStruct struct {
	A          int               `json:"a"`
	B          string            `json:"b,omitempty"`
	C          string            `json:",omitempty"`
	D          int               `json:"-"`
	Dash       int               `json:"-,"`
	F          float64           `json:"f,string"`
	G          *int              `json:"g,string"`
	GNil       *int              `json:"gnil,string"`
	H          *int              `json:"h,omitempty"`
	I          bool              `json:"i,string"`
	S          string            `json:"s,string"`
	NS         namedString       `json:"ns"`
	NF         namedFloat        `json:"nf"`
	T          time.Time         `json:"t,omitzero"`
	T2         time.Time         `json:"t2"`
	Z          zeroer            `json:"z,omitzero"`
	PZ         ptrZeroer         `json:"pz,omitzero"`
	Strange    int               `json:"x!#$%&()*+-./:;<=>?@[]^_{|}~ y"`
	Invalid    int               `json:"in\"valid"`
	Any        any               `json:"any"`
	AnyNil     any               `json:"anyNil"`
	M          map[string]any    `json:"m,omitempty"`
	MEmpty     map[string]any    `json:"mEmpty,omitempty"`
	Sl         []any             `json:"sl"`
	SlNil      []any             `json:"slNil"`
	Arr        [2]any            `json:"arr"`
	U          uint16            `json:"u,omitempty"`
	Dur        time.Duration     `json:"dur"`
	Keys       map[textKey]any   `json:"keys"`
	IntKeys    map[int8]any      `json:"intKeys"`
	Err        error             `json:"err"`
	Raw        json.RawMessage   `json:"raw"`
	Plain      map[string]string `json:"plain"`
	Unicode    string            `json:"ünïcode"`
	Num        json.Number       `json:"num"`
	NumStr     json.Number       `json:"numStr,string"`
	NumPtr     *json.Number      `json:"numPtr,string"`
	unexported int
	diffInner
	*DiffOther
	diffMid
}

func diffValues() []any {
	seven := 7
	num := json.Number("12")
	return []any{
		nil, true, false, 0, -1, math.MaxInt64, math.MinInt64, uint64(math.MaxUint64), int8(-8), uint8(200),
		0.0, math.Copysign(0, -1), 1.0, 0.1, 1e-6, 1e-7, 123456789.123, 1e20, 1e21, 1.5e300, 5e-324, math.MaxFloat64,
		float32(0.1), float32(1e-7), float32(1e21), float32(3.4e38), float32(16777216),
		"", "plain", "quote\" backslash\\ slash/", "\x00\x01\x08\x0c\n\r\t\x1f\x7f", "<script>&amp;</script>",
		"\u2028\u2029", "é😀", "bad utf8 \xff\xfe end", "\xed\xa0\x80", "trunc \xe2\x82",
		namedString("named"), namedFloat(2.5), time.Duration(1500), time.Date(2020, 5, 6, 7, 8, 9, 10, time.UTC),
		[]any{1, "a", []any{}, map[string]any{}}, map[string]any{"z": 1, "a": []any{nil}, "m": map[string]any{"<": ">"}},
		map[string]int{"b": 2, "a": 1}, map[int]string{10: "x", 9: "y", -1: "z"}, map[textKey]int{{2, 1}: 1, {1, 2}: 2},
		json.Number("12.5e-3"), json.Number(""), []any{json.Number("7")}, map[string]json.Number{"n": "8"},
		[3]int{1, 2, 3}, [0]any{}, []string(nil), struct{}{}, &seven, (*int)(nil), json.RawMessage(`{"k":1}`),
		diffStruct{
			A: 1, C: "c", D: 4, Dash: 5, F: 1.5, G: &seven, I: true, S: `s"q<`, NS: "ns", NF: 0.25,
			T2: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), Z: zeroer{N: -1}, PZ: ptrZeroer{N: 7},
			Strange: 9, Invalid: 10, Any: map[string]any{"k": []any{1, "v"}}, M: map[string]any{"x": 1},
			MEmpty: map[string]any{}, Sl: []any{1.5, "s"}, Arr: [2]any{1, "b"}, Dur: time.Second,
			Keys: map[textKey]any{{1, 2}: "a"}, IntKeys: map[int8]any{-3: true, 4: nil}, Err: errors.New("boom"),
			Raw: json.RawMessage(`[1,2]`), Plain: map[string]string{"p": "q"}, Unicode: "ü",
			Num: "1e400", NumStr: "-0.5", NumPtr: &num,
			diffInner: diffInner{E1: 11, Shadow: "sh", Twin: 1, Deep: "untagged"},
			DiffOther: &DiffOther{E2: "e2", Shadow: "SH", Twin: 2, Tagged: 3},
			diffMid:   diffMid{diffLeaf: diffLeaf{Leaf: 12}, Leaf2: "l2"},
		},
		diffStruct{Z: zeroer{N: 1}, PZ: ptrZeroer{N: 1}, T: time.Unix(1, 0).UTC()},
		&diffStruct{PZ: ptrZeroer{N: 7}},
		[]diffStruct{{A: 1}, {B: "b"}},
		map[string]diffStruct{"one": {U: 3}},
	}
}

// TestAppendDataMatchesEncodingJSON checks that binary-free values, including structs the encoder
// walks itself (those with interface fields), are written exactly as encoding/json writes them.
func TestAppendDataMatchesEncodingJSON(t *testing.T) {
	if ti := typeInfoOf(reflect.TypeFor[diffStruct]()); !ti.binary || len(ti.fields) == 0 {
		t.Fatal("diffStruct is not walked by the encoder; the test would only exercise encoding/json")
	}
	for i, v := range diffValues() {
		want, err := json.Marshal([]any{v})
		if err != nil {
			t.Fatalf("value %d: json.Marshal: %v", i, err)
		}
		got, att, err := AppendAckData(nil, []any{v})
		if err != nil {
			t.Errorf("value %d (%T): %v", i, v, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("value %d (%T):\n got %s\nwant %s", i, v, got, want)
		}
		if att != nil {
			t.Errorf("value %d: attachments %q", i, att)
		}
		// A struct holding the value in an interface field goes through the reflection walker.
		type wrap struct{ V any }
		want, _ = json.Marshal(wrap{v})
		got, _, err = AppendAckData(nil, []any{wrap{v}})
		if err != nil || string(got) != "["+string(want)+"]" {
			t.Errorf("value %d (%T) wrapped:\n got %s (%v)\nwant [%s]", i, v, got, err, want)
		}
	}
}

func TestStructFieldsCached(t *testing.T) {
	v := []any{diffStruct{A: 1}}
	first, _, _ := AppendAckData(nil, v)
	second, _, _ := AppendAckData(nil, v)
	if string(first) != string(second) {
		t.Errorf("second encoding differs:\n%s\n%s", first, second)
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	for _, s := range []string{all.String(), "\u2028x\u2029", "😀\xf0\x9f\x98", "a\u00e9\u4e16"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s, true); string(got) != string(want) {
			t.Errorf("appendString(%q):\n got %s\nwant %s", s, got, want)
		}
	}
	if got := appendString(nil, "<&>", false); string(got) != `"<&>"` {
		t.Errorf("without HTML escaping: %s", got)
	}
}

func TestAppendEventDataEventName(t *testing.T) {
	data, _, err := AppendEventData(nil, "a\"<b>\u2028", nil)
	if err != nil {
		t.Fatal(err)
	}
	name, err := EventName(data)
	if err != nil || name != "a\"<b>\u2028" {
		t.Errorf("EventName(%s) = %q, %v", data, name, err)
	}
}

// TestAppendEventDataConcurrent encodes new types from several goroutines at once, for the race
// detector: the type cache is shared.
func TestAppendEventDataConcurrent(t *testing.T) {
	type fresh struct {
		B []byte `json:"b"`
		N any    `json:"n"`
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 50 {
				var data []byte
				data, _, err = AppendAckData(nil, []any{fresh{B: []byte{byte(g)}, N: i}, map[string]fresh{"k": {}}})
				if err == nil && !strings.HasPrefix(string(data), `[{"b":{"_placeholder":true,"num":0},"n":`) {
					err = fmt.Errorf("goroutine %d: %s", g, data)
				}
				if err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
