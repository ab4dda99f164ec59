package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// Type is an Engine.IO packet type.
type Type uint8

// Packet types, in wire order ('0' … '6').
const (
	Open Type = iota
	Close
	Ping
	Pong
	Message
	Upgrade
	Noop
)

var typeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Separator joins packets in a polling payload.
const Separator = '\x1e'

// Sentinel errors; decoders wrap them so callers can test with errors.Is.
var (
	// ErrInvalidPacket is returned for an empty packet or an unknown type byte.
	ErrInvalidPacket = errors.New("engineio: invalid packet")
	// ErrInvalidBase64 is returned for a 'b' packet whose data is not standard base64.
	ErrInvalidBase64 = errors.New("engineio: invalid base64 in binary packet")
)

// Packet is one Engine.IO packet. Binary is set only for message packets that
// carry bytes (a binary WebSocket frame or a 'b' polling packet).
type Packet struct {
	Type   Type
	Binary bool
	Data   []byte
}

// DecodeText decodes a text packet as carried by a WebSocket text frame or one
// record of a polling payload ('b'-prefixed base64 binary included). Data
// aliases b except for base64 packets, which are decoded into a new slice.
func DecodeText(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, fmt.Errorf("%w: empty", ErrInvalidPacket)
	}
	c := b[0]
	switch {
	case c >= '0' && c <= '6':
		return Packet{Type: Type(c - '0'), Data: b[1:]}, nil
	case c == 'b':
		// Node decodes base64 leniently, so unpadded input is accepted too.
		enc := bytes.TrimRight(b[1:], "=")
		out := make([]byte, base64.RawStdEncoding.DecodedLen(len(enc)))
		n, err := base64.RawStdEncoding.Decode(out, enc)
		if err != nil {
			return Packet{}, fmt.Errorf("%w: %v", ErrInvalidBase64, err)
		}
		return Packet{Type: Message, Binary: true, Data: out[:n]}, nil
	default:
		return Packet{}, fmt.Errorf("%w: unknown type %q", ErrInvalidPacket, c)
	}
}

// BinaryMessage returns the packet carried by a binary WebSocket frame: every
// binary frame is a message.
func BinaryMessage(b []byte) Packet {
	return Packet{Type: Message, Binary: true, Data: b}
}

// AppendText appends the text form of p as written in a WebSocket text frame.
// A binary packet is appended in its polling form ('b' + base64), which is also
// what a WebSocket client that asked for b64 expects.
func AppendText(dst []byte, p Packet) []byte {
	if p.Binary {
		return appendBase64(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

func appendBase64(dst, data []byte) []byte {
	dst = append(dst, 'b')
	return base64.StdEncoding.AppendEncode(dst, data)
}

// EncodedLen reports how many bytes p takes in a polling payload, without the separator.
func EncodedLen(p Packet) int {
	if p.Binary {
		return 1 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 1 + len(p.Data)
}
