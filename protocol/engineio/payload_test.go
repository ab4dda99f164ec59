package engineio

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func collect(t *testing.T, body string) ([]Packet, error) {
	t.Helper()
	var out []Packet
	err := DecodePayload([]byte(body), func(p Packet) error {
		out = append(out, Packet{Type: p.Type, Binary: p.Binary, Data: append([]byte(nil), p.Data...)})
		return nil
	})
	return out, err
}

func TestDecodePayload(t *testing.T) {
	got, err := collect(t, "4hello\x1ebAQIDBA==\x1e2\x1e4world")
	if err != nil {
		t.Fatal(err)
	}
	want := []Packet{
		{Type: Message, Data: []byte("hello")},
		{Type: Message, Binary: true, Data: []byte{1, 2, 3, 4}},
		{Type: Ping, Data: []byte{}},
		{Type: Message, Data: []byte("world")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Type != want[i].Type || got[i].Binary != want[i].Binary || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("packet %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestDecodePayloadErrors(t *testing.T) {
	for _, body := range []string{"", "abc", "4ok\x1e", "4ok\x1e\x1e4x", "4a\x1eb#"} {
		if _, err := collect(t, body); err == nil {
			t.Errorf("DecodePayload(%q) succeeded, want error", body)
		}
	}
}

func TestDecodePayloadStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := DecodePayload([]byte("4a\x1e4b\x1e4c"), func(Packet) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("err=%v n=%d, want stop after 2", err, n)
	}
}

func TestAppendPayload(t *testing.T) {
	var b []byte
	b = AppendPayload(b, Packet{Type: Message, Data: []byte("test1")})
	b = AppendPayload(b, Packet{Type: Message, Binary: true, Data: []byte{1, 2, 3, 4}})
	b = AppendPayload(b, Packet{Type: Ping})
	if got, want := string(b), "4test1\x1ebAQIDBA==\x1e2"; got != want {
		t.Fatalf("AppendPayload = %q, want %q", got, want)
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e4b", "bAQIDBA==", "2probe\x1e6", "", "\x1e", "0{}\x1e1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var pkts []Packet
		err := DecodePayload(body, func(p Packet) error {
			pkts = append(pkts, p)
			return nil
		})
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to a payload that decodes to the same packets.
		var enc []byte
		for _, p := range pkts {
			enc = AppendPayload(enc, p)
		}
		i := 0
		err = DecodePayload(enc, func(p Packet) error {
			q := pkts[i]
			if p.Type != q.Type || p.Binary != q.Binary || !bytes.Equal(p.Data, q.Data) {
				return fmt.Errorf("packet %d: %+v != %+v", i, p, q)
			}
			i++
			return nil
		})
		if err != nil || i != len(pkts) {
			t.Fatalf("re-decode of %q: %v (%d of %d)", enc, err, i, len(pkts))
		}
	})
}

func BenchmarkDecodePayload(b *testing.B) {
	body := []byte("42[\"msg\",{\"text\":\"hello world\",\"n\":1}]\x1e42[\"msg\",{\"text\":\"hello again\",\"n\":2}]\x1e3")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = DecodePayload(body, func(Packet) error { return nil })
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	p := Packet{Type: Message, Data: []byte("2[\"msg\",{\"text\":\"hello world\",\"n\":1}]")}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for range 8 {
			buf = AppendPayload(buf, p)
		}
	}
}
