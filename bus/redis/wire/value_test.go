package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// encodeValue converts one JSON value (with placeholders indexing atts) to msgpack.
func encodeValue(tb testing.TB, data string, atts [][]byte) []byte {
	tb.Helper()
	if err := checkData(json.RawMessage(data), atts, false); err != nil {
		tb.Fatalf("checkData(%s): %v", data, err)
	}
	w := getWriter()
	defer putWriter(w)
	if err := w.jsonValue([]byte(data), atts, true); err != nil {
		tb.Fatalf("jsonValue(%s): %v", data, err)
	}
	return w.bytes()
}

// decodeValue converts one msgpack value to JSON.
func decodeValue(b []byte) (string, [][]byte, error) {
	r := getReader(b)
	defer putReader(r)
	var atts [][]byte
	out, undef, err := r.value(nil, &atts, 0)
	if err == nil {
		err = r.done()
	}
	if undef {
		return "undefined", atts, err
	}
	return string(out), atts, err
}

// What notepack.io 3 writes for each JavaScript number (its encode.js picks the smallest form).
// Go keeps integers above 2^53 exact where JavaScript would already have rounded them.
var numberWidths = []struct{ json, hex string }{
	{"0", "00"}, {"127", "7f"}, {"128", "cc80"}, {"255", "ccff"}, {"256", "cd0100"},
	{"65535", "cdffff"}, {"65536", "ce00010000"}, {"4294967295", "ceffffffff"},
	{"4294967296", "cf0000000100000000"}, {"9007199254740993", "cf0020000000000001"},
	{"18446744073709551615", "cfffffffffffffffff"},
	{"-1", "ff"}, {"-32", "e0"}, {"-33", "d0df"}, {"-128", "d080"}, {"-129", "d1ff7f"},
	{"-32768", "d18000"}, {"-32769", "d2ffff7fff"}, {"-2147483648", "d280000000"},
	{"-2147483649", "d3ffffffff7fffffff"}, {"-9223372036854775808", "d38000000000000000"},
	// Integral values written with a fraction or an exponent are integers to JavaScript.
	{"1.0", "01"}, {"1e3", "cd03e8"}, {"-0", "00"}, {"-0.0", "00"}, {"2.5e1", "19"},
	{"1.5", "cb3ff8000000000000"}, {"0.1", "cb3fb999999999999a"}, {"-0.25", "cbbfd0000000000000"},
	// Beyond uint64, float64 (notepack would write a wrapped uint64), as are non-finite values
	// (JSON.parse gives Infinity). Below int64, JavaScript's rounded value is int64's minimum.
	{"18446744073709551616", "cb43f0000000000000"}, {"1e20", "cb4415af1d78b58c40"},
	{"-9223372036854775809", "d38000000000000000"}, {"1e400", "cb7ff0000000000000"},
}

func TestNotepackNumberWidths(t *testing.T) {
	for _, c := range numberWidths {
		if got := hex.EncodeToString(encodeValue(t, c.json, nil)); got != c.hex {
			t.Errorf("%s: got %s, want %s", c.json, got, c.hex)
		}
	}
}

func TestNotepackLengthForms(t *testing.T) {
	str := func(n int) string { return `"` + strings.Repeat("x", n) + `"` }
	arr := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat("0,", n), ",") + "]" }
	obj := func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + strings.Repeat("k", i+1) + `":0`)
		}
		return b.String() + "}"
	}
	bin := func(n int) [][]byte { return [][]byte{make([]byte, n)} }
	for _, c := range []struct {
		json   string
		atts   [][]byte
		prefix string
	}{
		{str(0), nil, "a0"}, {str(31), nil, "bf"}, {str(32), nil, "d920"}, {str(255), nil, "d9ff"},
		{str(256), nil, "da0100"}, {str(65535), nil, "daffff"}, {str(65536), nil, "db00010000"},
		{`"é"`, nil, "a2c3a9"}, {`"\ud83d\ude00"`, nil, "a4f09f9880"}, {`"\u00e9\/"`, nil, "a3c3a92f"},
		{arr(0), nil, "90"}, {arr(15), nil, "9f"}, {arr(16), nil, "dc0010"}, {arr(65536), nil, "dd00010000"},
		{obj(0), nil, "80"}, {obj(15), nil, "8f"}, {obj(16), nil, "de0010"},
		{`{"_placeholder":true,"num":0}`, bin(0), "c400"}, {`{"num":0,"_placeholder":true}`, bin(255), "c4ff"},
		{`{"_placeholder":true,"num":0}`, bin(256), "c50100"}, {`{"_placeholder":true,"num":0}`, bin(65536), "c600010000"},
		{`{"_placeholder":true,"num":0}`, [][]byte{nil}, "c400"},
		{`null`, nil, "c0"}, {`true`, nil, "c3"}, {`false`, nil, "c2"},
	} {
		got := hex.EncodeToString(encodeValue(t, c.json, c.atts))
		if !strings.HasPrefix(got, c.prefix) {
			t.Errorf("%.40s: got %.40s…, want prefix %s", c.json, got, c.prefix)
		}
	}
}

func TestDecodeValues(t *testing.T) {
	for _, c := range []struct{ hex, json string }{
		// numbers as JavaScript prints them
		{"ca3dcccccd", "0.10000000149011612"}, {"cb4000000000000000", "2"}, {"cb8000000000000000", "0"},
		{"cb7ff8000000000001", "null"}, {"cb7ff0000000000000", "null"}, {"cbfff0000000000000", "null"},
		{"cb3eb0c6f7a0b5ed8d", "0.000001"}, {"cb3e7ad7f29abcaf48", "1e-7"}, {"cb444b1ae4d6e2ef50", "1e+21"},
		{"cb7e41eb2d66005835", "1.5e+300"}, {"cb441ac53a7e04bcda", "123456789012345680000"},
		{"cb0000000000000001", "5e-324"}, {"cfffffffffffffffff", "18446744073709551615"},
		{"d38000000000000000", "-9223372036854775808"}, {"d0df", "-33"}, {"e0", "-32"},
		// strings as JSON.stringify writes them
		{"a3c3a9e2", "\"é\xef\xbf\xbd\""}, {"a30a0122", `"\n\u0001\""`}, {"a23c2f", `"</"`},
		{"a4f09f9880", `"😀"`}, {"a3eda080", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
		// undefined (notepack 2): null in arrays, omitted in maps
		{"93d40000c0d40000", "[null,null,null]"}, {"82a161d40000a162c0", `{"b":null}`},
		{"82a161c0a162d40000", `{"a":null}`}, {"d40001", "undefined"},
		// dates: msgpack timestamps (notepack 3) and notepack 2's fixext8 type 0
		{"d6ff39457980", `"2000-06-13T00:00:00.000Z"`}, {"d700000000dfb7629c00", `"2000-06-13T00:00:00.000Z"`},
		{"d7ff7735940000000000", `"1970-01-01T00:00:00.500Z"`},
		{"c70cff00000000ffffffffffffffff", `"1969-12-31T23:59:59.000Z"`},
		{"c70cff0007a120ffffffffffffffff", `"1969-12-31T23:59:59.001Z"`},
		{"c70cff00000000fffffff184aa5080", `"-000001-01-01T00:00:00.000Z"`},
		{"c70cff000000000000003afff44180", `"+010000-01-01T00:00:00.000Z"`},
		{"c70cff000000007fffffffffffffff", "null"}, {"c70cff0000000080000000000000ff", "null"},
		// map keys: String(key)
		{"8601a1610ba162c3a163c0a164cb3ff8000000000000a165c4026869a166", `{"1":"a","11":"b","true":"c","null":"d","1.5":"e","hi":"f"}`},
		{"81cb7ff8000000000000c0", `{"NaN":null}`}, {"81cbfff0000000000000c0", `{"-Infinity":null}`},
		{"81c4026869c3", `{"hi":true}`},
		// duplicate keys are kept in wire order
		{"82a16101a16102", `{"a":1,"a":2}`},
		{"90", "[]"}, {"80", "{}"}, {"dc0000", "[]"}, {"de0000", "{}"},
	} {
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := decodeValue(b)
		if err != nil {
			t.Errorf("%s: %v", c.hex, err)
			continue
		}
		if got != c.json {
			t.Errorf("%s: got %s, want %s", c.hex, got, c.json)
		}
	}
}

func TestDecodeBinaryValues(t *testing.T) {
	for _, c := range []struct {
		hex, json string
		atts      [][]byte
	}{
		// depth-first numbering: arrays by index, maps in wire order
		{"92" + "82a161c40101a46c6973749181a162c40102" + "c40103",
			`[{"a":{"_placeholder":true,"num":0},"list":[{"b":{"_placeholder":true,"num":1}}]},{"_placeholder":true,"num":2}]`,
			[][]byte{{1}, {2}, {3}}},
		// notepack 2 ArrayBuffer (ext type 0): binary
		{"c70300010203", `{"_placeholder":true,"num":0}`, [][]byte{{1, 2, 3}}},
		// any other extension: [type, <body>] as notepack decodes it
		{"d505abcd", `[5,{"_placeholder":true,"num":0}]`, [][]byte{{0xab, 0xcd}}},
		{"c701800a", `[-128,{"_placeholder":true,"num":0}]`, [][]byte{{0x0a}}},
		{"c400", `{"_placeholder":true,"num":0}`, [][]byte{{}}},
	} {
		got, atts, err := decodeValue(unhex(t, c.hex))
		if err != nil {
			t.Errorf("%s: %v", c.hex, err)
			continue
		}
		if got != c.json || !reflect.DeepEqual(atts, c.atts) {
			t.Errorf("%s: got %s %x, want %s %x", c.hex, got, atts, c.json, c.atts)
		}
	}
}

func TestDecodeValueErrors(t *testing.T) {
	for _, h := range []string{
		"", "c1", "a5616263", "c4ff00", "92c0", "dd7fffffff", "df7fffffff00", "c6ffffffff00",
		"db7fffffff61", "c9ffffffff0500", "81c0", "8190c0", "8180c0", "81d6ff00000000c0",
		"d6ff0000", "c705ff0000000000", "d7ff" + "fffffffc00000000", // 30-bit nsec above 999999999
		strings.Repeat("91", MaxDepth+1) + "c0",
	} {
		b := unhex(t, h)
		if _, _, err := decodeValue(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%.40s: %v, want ErrMalformed", h, err)
		}
	}
	// MaxDepth levels are fine.
	if _, _, err := decodeValue(unhex(t, strings.Repeat("91", MaxDepth)+"c0")); err != nil {
		t.Error(err)
	}
}

// Round trips through the Socket.IO model: decode(encode(x)) == x for JSON in the canonical form
// the decoder writes.
func TestDataRoundTrip(t *testing.T) {
	for _, c := range []struct {
		data string
		atts [][]byte
	}{
		{`["ev",{"a":{"_placeholder":true,"num":0},"list":[{"b":{"_placeholder":true,"num":1}}]},{"_placeholder":true,"num":2}]`,
			[][]byte{{1}, bytes.Repeat([]byte{2}, 300), bytes.Repeat([]byte{3}, 70000)}},
		{`["unicode","héllo","😀","日本語","\n\t\"\\","\u0000\u001f","` + strings.Repeat("é", 200) + `"]`, nil},
		{`["ints",0,1,127,128,255,256,65535,65536,4294967295,4294967296,9007199254740993,18446744073709551615]`, nil},
		{`["negative",-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,-9223372036854775808]`, nil},
		{`["floats",1.5,-0.25,0.1,1e-7,1e+21,5e-324,1.7976931348623157e+308,123456789012345680000]`, nil},
		{`["empty",[],{},"",[[]],{"a":{}}]`, nil},
		{`["null",null,[null],{"a":null}]`, nil},
		{`[42,true,false]`, nil},
		{`["big",` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `]`, nil},
	} {
		enc, err := EncodeBroadcast("uid", "/", json.RawMessage(c.data), c.atts, nil, Opts{})
		if err != nil {
			t.Fatalf("%.40s: %v", c.data, err)
		}
		m, err := DecodeBroadcast(enc)
		if err != nil {
			t.Fatalf("%.40s: %v", c.data, err)
		}
		if string(m.Packet.Data) != c.data {
			t.Errorf("round trip:\n got %s\nwant %s", m.Packet.Data, c.data)
		}
		if len(m.Packet.Attachments) != len(c.atts) {
			t.Fatalf("%.40s: %d attachments, want %d", c.data, len(m.Packet.Attachments), len(c.atts))
		}
		for i := range c.atts {
			if !bytes.Equal(m.Packet.Attachments[i], c.atts[i]) {
				t.Errorf("%.40s: attachment %d differs", c.data, i)
			}
		}
	}
}

// JSON that is not in canonical form reads back canonical.
func TestDataCanonicalForm(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{` [ "a" , 1.0 , 1e3 , "\u00e9\/" , -0 ] `, `["a",1,1000,"é/",0]`},
		{`["x",{"num":1,"_placeholder":true},{"_placeholder":true,"num":0}]`,
			`["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`}, // renumbered depth-first
		{`["\ud800","\udc00x","\ud83d"]`, "[\"\xef\xbf\xbd\",\"\xef\xbf\xbdx\",\"\xef\xbf\xbd\"]"},
		{`["<>&\u2028"]`, "[\"<>&\u2028\"]"},
	} {
		atts := [][]byte{{0}, {1}}
		if !strings.Contains(c.in, "_placeholder") {
			atts = nil
		}
		enc, err := EncodeBroadcast("u", "/", json.RawMessage(c.in), atts, nil, Opts{})
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		m, err := DecodeBroadcast(enc)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Packet.Data) != c.out {
			t.Errorf("%s: got %s, want %s", c.in, m.Packet.Data, c.out)
		}
		if atts != nil && !reflect.DeepEqual(m.Packet.Attachments, [][]byte{{1}, {0}}) {
			t.Errorf("%s: attachments %v", c.in, m.Packet.Attachments)
		}
	}
}

func TestEncodeBroadcastErrors(t *testing.T) {
	for _, c := range []struct {
		data string
		atts [][]byte
	}{
		{``, nil}, {`{}`, nil}, {`"x"`, nil}, {`[1,]`, nil}, {`[1] x`, nil},
		{`["x",{"_placeholder":true,"num":1}]`, [][]byte{{1}}},
		{`["x",{"_placeholder":true,"num":0,"y":1}]`, [][]byte{{1}}},
		{`["x",{"_placeholder":true}]`, [][]byte{{1}}},
		{"[" + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + "]", nil},
	} {
		_, err := EncodeBroadcast("u", "/", json.RawMessage(c.data), c.atts, nil, Opts{})
		if !errors.Is(err, ErrInvalidData) {
			t.Errorf("%.40s: %v, want ErrInvalidData", c.data, err)
		}
	}
	_, err := EncodeBroadcast("u", "/", json.RawMessage(`[{"_placeholder":true,"num":3}]`), [][]byte{{1}}, nil, Opts{})
	if !errors.Is(err, socketio.ErrPlaceholder) {
		t.Errorf("bad placeholder: %v, want socketio.ErrPlaceholder too", err)
	}
}

func TestDecodeBroadcastErrors(t *testing.T) {
	// Every strict prefix of a valid message is malformed, and so is a longer one.
	for _, s := range broadcastSamples {
		raw := unhex(t, s.hex)
		for i := range raw {
			if _, err := DecodeBroadcast(raw[:i]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s[:%d]: %v, want ErrMalformed", s.name, i, err)
			}
		}
		if _, err := DecodeBroadcast(append(raw, 0xc0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s + trailing byte: %v, want ErrMalformed", s.name, err)
		}
	}
	for _, h := range []string{
		"92a17583a474797065" + "02a464617461" + "90a36e7370a12f",                      // two elements
		"93a17583a47479706502a464617461c0a36e7370a12f80",                              // data nil
		"93a17583a47479706502a4646174618080",                                          // data is a map
		"93a17582a46461746190a36e7370a12f80",                                          // no type
		"93a175c080",                                                                  // packet nil
		"93a17582a47479706502a46461746190c0",                                          // opts nil
		"93a17583a47479706502a46461746190a36e7370c080",                                // nsp nil
		"93a17582a47479706502a4646174619081a5726f6f6d7391c0",                          // a room that is nil
		"93a17582a47479706502a4646174619081a5666c6167738" + "1a774696d656f7574a13580", // timeout "5"
		"9301" + "82a47479706502a46461746190" + "80",                                  // uid not a string
	} {
		if _, err := DecodeBroadcast(unhex(t, h)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", h, err)
		}
	}
}

// Keys in any order, unknown keys, undefined values and extra elements are tolerated.
func TestDecodeBroadcastLenient(t *testing.T) {
	w := getWriter()
	defer putWriter(w)
	w.arrayLen(4)
	w.str("node")
	w.mapLen(5)
	w.str("options") // the msgpack parser's extra key
	w.mapLen(1)
	w.str("compress")
	w.bool(true)
	w.str("nsp")
	w.str("/chat")
	w.str("id")
	w.uint(7)
	w.str("data")
	w.arrayLen(1)
	w.str("ev")
	w.str("type")
	w.uint(2)
	w.mapLen(4)
	w.str("flags")
	w.mapLen(5)
	w.str("timeout")
	w.float(250.7)
	w.str("compress")
	_ = w.e.EncodeExtHeader(0, 1) // undefined: not set
	_ = w.buf.WriteByte(0)
	w.str("local")
	w.uint(1) // truthy
	w.str("broadcast")
	w.str("")
	w.str("binary")
	w.bool(false)
	w.str("except")
	w.strs([]string{"a"})
	w.int(5) // a non-string key
	w.str("ignored")
	w.str("rooms")
	w.arrayLen(2)
	w.uint(42) // a numeric room
	w.float(1.5)
	w.str("extra element")
	m, err := DecodeBroadcast(w.bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := Broadcast{
		UID:    "node",
		Packet: Packet{Type: 2, NSP: "/chat", Data: json.RawMessage(`["ev"]`), ID: ptr(uint64(7))},
		Opts: Opts{Rooms: []string{"42", "1.5"}, Except: []string{"a"},
			Flags: Flags{Timeout: ptr(250), Local: true, Binary: ptr(false)}},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v\nwant %+v", m, want)
	}
}

func TestEncodeBroadcastFlagsAndID(t *testing.T) {
	opts := Opts{Rooms: []string{"r"}, Flags: Flags{Volatile: true, Compress: ptr(true), Local: true,
		Broadcast: true, Binary: ptr(true), Timeout: ptr(1000)}}
	enc, err := EncodeBroadcast("u", "/", json.RawMessage(`["e"]`), nil, ptr(uint64(1)<<40), opts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeBroadcast(enc)
	if err != nil {
		t.Fatal(err)
	}
	opts.Except = []string{}
	if !reflect.DeepEqual(m.Opts, opts) || m.Packet.ID == nil || *m.Packet.ID != 1<<40 {
		t.Fatalf("got %+v id %v", m.Opts, m.Packet.ID)
	}
	want := "93a17584a47479706502a46461746191a165a36e7370a12fa26964cf0000010000000000" +
		"83a5726f6f6d7391a172a665786365707490a5666c61677386a8766f6c6174696c65c3a8636f6d7072657373c3" +
		"a56c6f63616cc3a962726f616463617374c3a662696e617279c3a774696d656f7574cd03e8"
	if got := hex.EncodeToString(enc); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// As in Socket.IO, placeholder-shaped objects are placeholders only in a value with attachments;
// without, they are plain data (a client may send them in an EVENT).
func TestLiteralPlaceholders(t *testing.T) {
	data := json.RawMessage(`["ev",{"_placeholder":true,"num":7},{"_placeholder":true}]`)
	enc, err := EncodeBroadcast("u", "/", data, nil, nil, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(enc, []byte("\xac_placeholder\xc3")) {
		t.Fatalf("not written as a map: %x", enc)
	}
	m, err := DecodeBroadcast(enc)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Packet.Data) != string(data) || m.Packet.Attachments != nil {
		t.Fatalf("got %s %v", m.Packet.Data, m.Packet.Attachments)
	}

	// Binary next to a placeholder-shaped map cannot be represented: refused.
	for _, h := range []string{
		"93a17583a47479706502a46461746192c4010181ac5f706c616365686f6c646572c3a36e7370a12f80",
		"93a17583a47479706502a4646174619281ac5f706c616365686f6c646572c3c40101a36e7370a12f80",
	} {
		if _, err := DecodeBroadcast(unhex(t, h)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", h, err)
		}
	}
	// {"_placeholder": false} is never a placeholder.
	h := "93a17583a47479706502a46461746192c4010181ac5f706c616365686f6c646572c2a36e7370a12f80"
	if m, err := DecodeBroadcast(unhex(t, h)); err != nil || string(m.Packet.Data) != `[{"_placeholder":true,"num":0},{"_placeholder":false}]` {
		t.Errorf("got %s, %v", m.Packet.Data, err)
	}
}

// Nesting up to MaxDepth crosses the bus both ways, as it crosses package socketio.
func TestMaxDepth(t *testing.T) {
	deep := func(n int) json.RawMessage {
		return json.RawMessage(strings.Repeat("[", n) + strings.Repeat("]", n))
	}
	if err := socketio.CheckPlaceholders(deep(MaxDepth), 0); err != nil {
		t.Fatalf("socketio refuses %d levels: %v", MaxDepth, err)
	}
	enc, err := EncodeBroadcast("u", "/", deep(MaxDepth), nil, nil, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeBroadcast(enc)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Packet.Data) != string(deep(MaxDepth)) {
		t.Fatal("deep data changed")
	}
	if _, err := EncodeBroadcast("u", "/", deep(MaxDepth+1), nil, nil, Opts{}); !errors.Is(err, ErrInvalidData) {
		t.Fatalf("%d levels: %v", MaxDepth+1, err)
	}
}
