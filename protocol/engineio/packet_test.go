package engineio

import (
	"bytes"
	"errors"
	"testing"
)

func TestDecodeText(t *testing.T) {
	tests := []struct {
		in      string
		want    Packet
		wantErr error
	}{
		{in: "0{\"sid\":\"x\"}", want: Packet{Type: Open, Data: []byte(`{"sid":"x"}`)}},
		{in: "1", want: Packet{Type: Close, Data: []byte{}}},
		{in: "2", want: Packet{Type: Ping, Data: []byte{}}},
		{in: "2probe", want: Packet{Type: Ping, Data: []byte("probe")}},
		{in: "3probe", want: Packet{Type: Pong, Data: []byte("probe")}},
		{in: "4hello", want: Packet{Type: Message, Data: []byte("hello")}},
		{in: "4", want: Packet{Type: Message, Data: []byte{}}},
		{in: "5", want: Packet{Type: Upgrade, Data: []byte{}}},
		{in: "6", want: Packet{Type: Noop, Data: []byte{}}},
		{in: "4héllo ✓", want: Packet{Type: Message, Data: []byte("héllo ✓")}},
		{in: "bAQIDBA==", want: Packet{Type: Message, Binary: true, Data: []byte{1, 2, 3, 4}}},
		{in: "b", want: Packet{Type: Message, Binary: true, Data: []byte{}}},
		{in: "", wantErr: ErrInvalidPacket},
		{in: "7", wantErr: ErrInvalidPacket},
		{in: "abc", wantErr: ErrInvalidPacket},
		{in: "b!!!", wantErr: ErrInvalidBase64},
		{in: "bAQI", wantErr: nil, want: Packet{Type: Message, Binary: true, Data: []byte{1, 2}}},
		{in: "bAQ", want: Packet{Type: Message, Binary: true, Data: []byte{1}}},
		{in: "bA", wantErr: ErrInvalidBase64},
		{in: "bAQ==", want: Packet{Type: Message, Binary: true, Data: []byte{1}}},
	}
	for _, tt := range tests {
		got, err := DecodeText([]byte(tt.in))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("DecodeText(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("DecodeText(%q) error = %v", tt.in, err)
			continue
		}
		if got.Type != tt.want.Type || got.Binary != tt.want.Binary || !bytes.Equal(got.Data, tt.want.Data) {
			t.Errorf("DecodeText(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestAppendTextRoundTrip(t *testing.T) {
	for _, p := range []Packet{
		{Type: Open, Data: []byte(`{"sid":"a"}`)},
		{Type: Ping},
		{Type: Pong, Data: []byte("probe")},
		{Type: Message, Data: []byte("42[\"x\"]")},
		{Type: Message, Binary: true, Data: []byte{0, 1, 2, 255}},
		{Type: Noop},
	} {
		enc := AppendText(nil, p)
		if got := EncodedLen(p); got != len(enc) {
			t.Errorf("EncodedLen(%+v) = %d, encoding has %d bytes", p, got, len(enc))
		}
		back, err := DecodeText(enc)
		if err != nil {
			t.Fatalf("DecodeText(%q): %v", enc, err)
		}
		if back.Type != p.Type || back.Binary != p.Binary || !bytes.Equal(back.Data, p.Data) {
			t.Errorf("round trip %+v -> %q -> %+v", p, enc, back)
		}
	}
}

func TestBinaryMessage(t *testing.T) {
	p := BinaryMessage([]byte{1, 2})
	if p.Type != Message || !p.Binary || !bytes.Equal(p.Data, []byte{1, 2}) {
		t.Fatalf("BinaryMessage = %+v", p)
	}
	if got := string(AppendText(nil, p)); got != "bAQI=" {
		t.Fatalf("AppendText(binary) = %q, want bAQI=", got)
	}
}

func TestTypeString(t *testing.T) {
	if Message.String() != "message" || Type(9).String() != "type(9)" {
		t.Fatalf("String: %q %q", Message.String(), Type(9).String())
	}
}
