package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// feed is one message of a connection: text or binary.
type feed struct {
	text   string
	binary []byte
	isBin  bool
}

func txt(s string) feed    { return feed{text: s} }
func bin(b ...byte) feed   { return feed{binary: b, isBin: true} }
func binStr(s string) feed { return feed{binary: []byte(s), isBin: true} }

// run feeds msgs to d and returns the completed packets, stopping at the first error.
func run(d *Decoder, msgs ...feed) ([]Packet, error) {
	var out []Packet
	for _, m := range msgs {
		var p Packet
		var ok bool
		var err error
		if m.isBin {
			p, ok, err = d.Binary(m.binary)
		} else {
			p, ok, err = d.Text([]byte(m.text))
		}
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func TestDecoderReassembly(t *testing.T) {
	var d Decoder
	header := `52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`
	p, ok, err := d.Text([]byte(header))
	if err != nil || ok {
		t.Fatalf("header: ok=%v err=%v, want waiting", ok, err)
	}
	if !d.Pending() {
		t.Fatal("Pending() = false after a header announcing 2 attachments")
	}
	if p.Data != nil || p.Type != 0 {
		t.Errorf("incomplete packet returned: %+v", p)
	}
	if _, ok, err := d.Binary([]byte{1, 2, 3}); ok || err != nil {
		t.Fatalf("first attachment: ok=%v err=%v", ok, err)
	}
	if !d.Pending() {
		t.Fatal("Pending() = false after 1 of 2 attachments")
	}
	p, ok, err = d.Binary([]byte{4, 5, 6})
	if err != nil || !ok {
		t.Fatalf("last attachment: ok=%v err=%v", ok, err)
	}
	if d.Pending() {
		t.Error("Pending() = true after the packet completed")
	}
	assertPacket(t, p, Packet{
		Type: BinaryEvent, Namespace: "/", Data: []byte(header[3:]),
		Attachments: [][]byte{{1, 2, 3}, {4, 5, 6}},
	})
	// The decoder is ready for the next packet.
	pkts, err := run(&d, txt(`2["next"]`), txt(`62-/admin,789[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`), bin(9), bin(8))
	if err != nil || len(pkts) != 2 {
		t.Fatalf("after reassembly: %d packets, %v", len(pkts), err)
	}
	assertPacket(t, pkts[1], Packet{
		Type: BinaryAck, Namespace: "/admin", ID: 789, HasID: true,
		Data:        []byte(`[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`),
		Attachments: [][]byte{{9}, {8}},
	})
}

func TestDecoderKeepsBinaryBuffers(t *testing.T) {
	var d Decoder
	a := []byte("attachment")
	run(&d, txt(`51-["x",{"_placeholder":true,"num":0}]`))
	p, ok, err := d.Binary(a)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if &p.Attachments[0][0] != &a[0] {
		t.Error("attachment was copied; the decoder should keep the caller's slice")
	}
}

func TestDecoderZeroAttachments(t *testing.T) {
	var d Decoder
	p, ok, err := d.Text([]byte(`50-["x",{"a":1}]`))
	if err != nil || !ok {
		t.Fatalf("50- header: ok=%v err=%v, want complete", ok, err)
	}
	if d.Pending() || p.Type != BinaryEvent || len(p.Attachments) != 0 {
		t.Errorf("pending=%v packet=%+v", d.Pending(), p)
	}
	// With no attachments, any placeholder is out of range.
	_, _, err = d.Text([]byte(`50-["x",{"_placeholder":true,"num":0}]`))
	if !errors.Is(err, ErrPlaceholder) {
		t.Errorf("placeholder with 0 attachments: %v, want ErrPlaceholder", err)
	}
}

func TestDecoderErrors(t *testing.T) {
	tests := []struct {
		name string
		d    Decoder
		msgs []feed
		want error
	}{
		{"binary with nothing pending", Decoder{}, []feed{bin(1)}, ErrUnexpectedBinary},
		{"binary after a complete packet", Decoder{}, []feed{txt(`2["x"]`), bin(1)}, ErrUnexpectedBinary},
		{"binary after reassembly", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true,"num":0}]`), bin(1), bin(2)}, ErrUnexpectedBinary},
		{"text while pending", Decoder{}, []feed{txt(`52-["x",{"_placeholder":true,"num":0}]`), bin(1), txt(`2["y"]`)}, ErrUnexpectedText},
		{"text right after header", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true,"num":0}]`), txt(`2["y"]`)}, ErrUnexpectedText},
		{"num out of range", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true,"num":1}]`), bin(1)}, ErrPlaceholder},
		{"num out of range nested", Decoder{}, []feed{txt(`52-["x",{"a":[{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":2}}]}]`), bin(1), bin(2)}, ErrPlaceholder},
		{"num negative", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true,"num":-1}]`), bin(1)}, ErrPlaceholder},
		{"num not integer", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true,"num":0.5}]`), bin(1)}, ErrPlaceholder},
		{"num string", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true,"num":"0"}]`), bin(1)}, ErrPlaceholder},
		{"num missing", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true}]`), bin(1)}, ErrPlaceholder},
		{"extra member", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true,"num":0,"x":1}]`), bin(1)}, ErrPlaceholder},
		{"nested member", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true,"num":0,"x":{}}]`), bin(1)}, ErrPlaceholder},
		{"nested member first", Decoder{}, []feed{txt(`51-["x",{"x":[],"_placeholder":true,"num":0}]`), bin(1)}, ErrPlaceholder},
		{"duplicate num", Decoder{}, []feed{txt(`51-["x",{"_placeholder":true,"num":0,"num":0}]`), bin(1)}, ErrPlaceholder},
		{"too many attachments", Decoder{}, []feed{txt(`511-["x"]`)}, ErrInvalidAttachments},
		{"over custom max", Decoder{MaxAttachments: 1}, []feed{txt(`52-["x"]`)}, ErrInvalidAttachments},
		{"too large", Decoder{MaxAttachmentBytes: 5}, []feed{txt(`52-["x",{"_placeholder":true,"num":0}]`), bin(1, 2, 3), bin(4, 5, 6)}, ErrAttachmentsTooLarge},
		{"too large at once", Decoder{MaxAttachmentBytes: 2}, []feed{txt(`51-["x",{"_placeholder":true,"num":0}]`), bin(1, 2, 3)}, ErrAttachmentsTooLarge},
		{"invalid text", Decoder{}, []feed{txt(`2{}`)}, ErrInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			_, err := run(&d, tt.msgs...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if d.Pending() {
				t.Error("a partial packet survived the error")
			}
			// The decoder recovers for the next packet.
			if pk, err := run(&d, txt(`2["again"]`)); err != nil || len(pk) != 1 {
				t.Errorf("after the error: %d packets, %v", len(pk), err)
			}
		})
	}
}

func TestDecoderAttachmentBytesLimit(t *testing.T) {
	d := Decoder{MaxAttachmentBytes: 6}
	// Exactly at the limit is fine, and the count restarts for each packet.
	for range 3 {
		pk, err := run(&d, txt(`52-["x",{"_placeholder":true,"num":0}]`), bin(1, 2, 3), bin(4, 5, 6))
		if err != nil || len(pk) != 1 {
			t.Fatalf("at the limit: %d packets, %v", len(pk), err)
		}
	}
}

func TestDecoderReset(t *testing.T) {
	var d Decoder
	run(&d, txt(`52-["x",{"_placeholder":true,"num":0}]`), bin(1))
	if !d.Pending() {
		t.Fatal("not pending")
	}
	d.Reset()
	if d.Pending() {
		t.Fatal("pending after Reset")
	}
	if _, _, err := d.Binary([]byte{2}); !errors.Is(err, ErrUnexpectedBinary) {
		t.Errorf("binary after Reset: %v", err)
	}
}

func TestDecoderNestedPlaceholders(t *testing.T) {
	var d Decoder
	header := `53-["upload",{"a":{"_placeholder":true,"num":0},"list":[{"b":{ "num" : 1 , "_placeholder" : true }},{"_placeholder":false,"num":9}],"c":[{"_placeholder":true,"num":2},{"_placeholder":true,"num":0}]}]`
	pk, err := run(&d, txt(header), binStr("A"), binStr("BB"), binStr("CCC"))
	if err != nil || len(pk) != 1 {
		t.Fatalf("%d packets, %v", len(pk), err)
	}
	resolved, err := ResolvePlaceholders(pk[0].Data, pk[0].Attachments)
	if err != nil {
		t.Fatal(err)
	}
	want := `["upload",{"a":"QQ==","list":[{"b":"QkI="},{"_placeholder":false,"num":9}],"c":["Q0ND","QQ=="]}]`
	if string(resolved) != want {
		t.Errorf("resolved:\n%s\nwant:\n%s", resolved, want)
	}
	var args []json.RawMessage
	if err := json.Unmarshal(resolved, &args); err != nil {
		t.Fatal(err)
	}
	var v struct {
		A    []byte
		List []struct{ B []byte }
		C    [][]byte
	}
	if err := json.Unmarshal(args[1], &v); err != nil {
		t.Fatal(err)
	}
	if string(v.A) != "A" || string(v.List[0].B) != "BB" || string(v.C[0]) != "CCC" || string(v.C[1]) != "A" {
		t.Errorf("unmarshalled %+v", v)
	}
}

func TestDecoderNamespaceCache(t *testing.T) {
	var d Decoder
	msg := []byte(`2/chat,["x"]`)
	run(&d, txt(string(msg)))
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok, err := d.Text(msg); !ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Text of a repeated namespace allocates %v times, want 0", allocs)
	}
	p, _, _ := d.Text([]byte(`2/other,["x"]`))
	if p.Namespace != "/other" {
		t.Errorf("namespace after a change = %q", p.Namespace)
	}
	p, _, _ = d.Text(msg)
	if p.Namespace != "/chat" {
		t.Errorf("namespace = %q", p.Namespace)
	}
}

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		data string
		n    int
		want string // resolved with attachments "0", "1", ...; "" means an error
		err  error
	}{
		{`[]`, 0, `[]`, nil},
		{`["x",{"_placeholder":true,"num":0}]`, 1, `["x","MA=="]`, nil},
		{`[{"num":1,"_placeholder":true}]`, 2, `["MQ=="]`, nil},
		{` [ { "_placeholder" : true , "num" : 0 } ] `, 1, ` [ "MA==" ] `, nil},
		{`[{"\u005fplaceholder":true,"n\u0075m":0}]`, 1, `["MA=="]`, nil},
		{`[{"_placeholder":false,"num":0}]`, 0, `[{"_placeholder":false,"num":0}]`, nil},
		{`[{"_placeholder":"true","num":0}]`, 0, `[{"_placeholder":"true","num":0}]`, nil},
		{`[{"_placeholder":1,"num":0}]`, 0, `[{"_placeholder":1,"num":0}]`, nil},
		{`[{"placeholder":true,"num":0}]`, 0, `[{"placeholder":true,"num":0}]`, nil},
		{`[{"num":{"_placeholder":true,"num":0}}]`, 1, `[{"num":"MA=="}]`, nil},
		{`[{"_placeholder":{"_placeholder":true,"num":0}}]`, 1, `[{"_placeholder":"MA=="}]`, nil},
		{`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]`, 1, `["MA==","MA=="]`, nil},
		{`{"a":[{"_placeholder":true,"num":1}],"b":"{\"_placeholder\":true,\"num\":0}"}`, 2, `{"a":["MQ=="],"b":"{\"_placeholder\":true,\"num\":0}"}`, nil},
		{`[{"_placeholder":true,"num":1}]`, 1, "", ErrPlaceholder},
		{`[{"_placeholder":true,"num":1.0}]`, 2, "", ErrPlaceholder},
		{`[{"_placeholder":true,"num":01}]`, 2, "", ErrInvalidPayload},
		{`[{"_placeholder":true,"num":1e0}]`, 2, "", ErrPlaceholder},
		{`[{"_placeholder":true,"num":null}]`, 2, "", ErrPlaceholder},
		{`[{"_placeholder":true,"_placeholder":true}]`, 2, "", ErrPlaceholder},
		{`[{"_placeholder":true,"num":0,"_placeholder":true}]`, 2, "", ErrPlaceholder},
		{`[{"_placeholder":true,"num":[0]}]`, 2, "", ErrPlaceholder},
		{`[{"_placeholder":true,"num":99999999999999999999}]`, 2, "", ErrPlaceholder},
		{`[{"_placeholder":true,"num":0}`, 1, "", ErrInvalidPayload},
		{`[{"_placeholder":true "num":0}]`, 1, "", ErrInvalidPayload},
		{`[1] x`, 0, "", ErrInvalidPayload},
		{``, 0, "", ErrInvalidPayload},
	}
	for _, tt := range tests {
		att := make([][]byte, tt.n)
		for i := range att {
			att[i] = []byte{byte('0' + i)}
		}
		err := CheckPlaceholders([]byte(tt.data), tt.n)
		if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("CheckPlaceholders(%s, %d) = %v, want %v", tt.data, tt.n, err, tt.err)
		}
		got, err := ResolvePlaceholders([]byte(tt.data), att)
		if tt.err != nil {
			if !errors.Is(err, tt.err) || got != nil {
				t.Errorf("ResolvePlaceholders(%s) = %s, %v; want error %v", tt.data, got, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("ResolvePlaceholders(%s) = %s, %v; want %s", tt.data, got, err, tt.want)
		}
	}
}

func TestResolvePlaceholdersCopies(t *testing.T) {
	data := []byte(`["x",{"a":1}]`)
	got, err := ResolvePlaceholders(data, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%s, %v", got, err)
	}
	got[0] = '!'
	if data[0] != '[' {
		t.Error("ResolvePlaceholders returned its input, not a copy")
	}
}

func TestCheckPlaceholdersNoAllocs(t *testing.T) {
	data := []byte(`["x",{"a":{"_placeholder":true,"num":0},"b":[{"_placeholder":true,"num":1}]}]`)
	if n := testing.AllocsPerRun(100, func() {
		if err := CheckPlaceholders(data, 2); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("CheckPlaceholders allocates %v times", n)
	}
}
