package loadtest

import (
	"bytes"
	"strconv"
)

// Engine.IO v4 packet types as sent over WebSocket text frames.
const (
	eioOpen    = '0'
	eioClose   = '1'
	eioPing    = '2'
	eioMessage = '4'
)

// Socket.IO v5 packet types (the character after the Engine.IO '4').
const (
	sioConnect      = '0'
	sioDisconnect   = '1'
	sioEvent        = '2'
	sioAck          = '3'
	sioConnectError = '4'
)

var (
	pongFrame = []byte("3")
	keyT      = []byte(`"t":`)
	keySeq    = []byte(`"seq":`)
	msgHead   = []byte(`["msg",`)
)

// packet is a decoded Socket.IO packet; data aliases the read buffer and is
// only valid until the next read.
type packet struct {
	typ  byte
	id   int64 // ack id, -1 when absent
	data []byte
}

// decodePacket decodes a Socket.IO packet (the Engine.IO message payload,
// without its leading '4') addressed to namespace nsp. It reports false for a
// malformed packet or one addressed to another namespace. Binary packet types
// are returned with their attachment count left in data; the load generator
// never asks for them.
func decodePacket(b []byte, nsp string) (packet, bool) {
	if len(b) == 0 || b[0] < '0' || b[0] > '6' {
		return packet{}, false
	}
	p := packet{typ: b[0], id: -1}
	b = b[1:]
	if len(b) > 0 && b[0] == '/' {
		end := bytes.IndexByte(b, ',')
		name := b
		if end >= 0 {
			name, b = b[:end], b[end+1:]
		} else {
			b = nil
		}
		if string(name) != nsp {
			return packet{}, false
		}
	} else if nsp != "/" {
		return packet{}, false
	}
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n > 0 {
		id, err := strconv.ParseInt(string(b[:n]), 10, 64)
		if err != nil {
			return packet{}, false
		}
		p.id, b = id, b[n:]
	}
	p.data = b
	return p, true
}

// appendHead appends the Engine.IO message type, the Socket.IO packet type and
// the namespace part ("42" or "42/chat,").
func appendHead(b []byte, typ byte, nsp string) []byte {
	b = append(b, eioMessage, typ)
	if nsp != "/" {
		b = append(b, nsp...)
		b = append(b, ',')
	}
	return b
}

// appendConnect appends a Socket.IO CONNECT for nsp without auth.
func appendConnect(b []byte, nsp string) []byte {
	return appendHead(b, sioConnect, nsp)
}

// appendEventHead appends the head of an EVENT up to and including the
// opening bracket and the quoted event name (`42/nsp,12["name"`); id < 0 asks
// for no ack. name must not need JSON escaping.
func appendEventHead(b []byte, nsp string, id int64, name string) []byte {
	b = appendHead(b, sioEvent, nsp)
	if id >= 0 {
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, `["`...)
	b = append(b, name...)
	return append(b, '"')
}

// payload builds the benchmark payload: a JSON object carrying the sender's
// timestamp and a sequence number, padded to about size bytes.
type payload struct {
	pad []byte
}

// newPayload returns a builder whose objects are about size bytes long (exact
// for 13-digit timestamps and 6-digit sequence numbers).
func newPayload(size int) payload {
	const skeleton = len(`{"t":1234567890123,"seq":123456,"pad":""}`)
	n := size - skeleton
	if n < 0 {
		n = 0
	}
	return payload{pad: bytes.Repeat([]byte{'x'}, n)}
}

// append appends {"t":t,"seq":seq,"pad":"xx…"}.
func (p payload) append(b []byte, t, seq int64) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"pad":"`...)
	b = append(b, p.pad...)
	return append(b, `"}`...)
}

// findInt returns the non-negative integer that follows key in b.
func findInt(b, key []byte) (int64, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	var v int64
	n := 0
	for ; n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9'; n++ {
		v = v*10 + int64(b[n]-'0')
	}
	return v, n > 0
}

// parseMsg extracts the timestamp and sequence number from the data of a
// "msg" EVENT (`["msg",{"t":…,"seq":…}]`).
func parseMsg(data []byte) (t, seq int64, ok bool) {
	if !bytes.HasPrefix(data, msgHead) {
		return 0, 0, false
	}
	data = data[len(msgHead):]
	t, ok1 := findInt(data, keyT)
	seq, ok2 := findInt(data, keySeq)
	return t, seq, ok1 && ok2
}
