package socketio

import (
	"bytes"
	"fmt"
	"math"
)

// Decode decodes one text-encoded packet: the payload of an Engine.IO message packet, without its
// leading "4". It follows the decoder of socket.io-parser 4.2:
//
//  1. the type digit, 0–6;
//  2. for BINARY_EVENT and BINARY_ACK, the attachment count "<n>-": one or more decimal digits,
//     n <= maxAttachments (zero or negative means DefaultMaxAttachments);
//  3. a namespace when the next byte is '/': everything up to ',' or the end of b ("0/random" is a
//     CONNECT to "/random"); otherwise "/";
//  4. an ack id when the next byte is a digit: all following digits, which must fit in a uint64;
//  5. the rest, if any, must be one JSON value (whitespace around it allowed) of the right shape:
//     CONNECT an object, DISCONNECT nothing, CONNECT_ERROR an object or a string, EVENT and
//     BINARY_EVENT a non-empty array whose first element is a number or a string that is not a
//     reserved event name, ACK and BINARY_ACK an array.
//
// The payload is optional except for EVENT and BINARY_EVENT, which need an event name. Data is the
// payload exactly as received and aliases b (its capacity is clipped, so appending to it copies).
// For a "<n>-" header with n > 0, Attachments is a slice of n nil entries, to be filled by the
// caller (Decoder does this). Decode does not look at placeholders.
//
// Decode allocates only for a namespace other than "/" (the Namespace string) and for the
// Attachments slice of a binary header. Errors wrap ErrInvalidType, ErrInvalidAttachments,
// ErrInvalidID, ErrInvalidPayload or ErrReservedEvent.
//
// Deviations from socket.io-parser, all stricter, none reachable by a conforming sender: the
// attachment count must be plain digits (JavaScript's Number() also accepts "", " 1", "1e0",
// "0x1"); ack ids are plain ASCII digits (JavaScript also takes a space for one) and may not
// exceed 2^64-1; an EVENT without payload is rejected (socket.io-parser passes it on with no event
// name).
func Decode(b []byte, maxAttachments int) (Packet, error) {
	return decode(b, maxAttachments, nil)
}

// decode is Decode with an optional one-entry namespace cache: when *ns holds the namespace being
// decoded, its string is reused instead of allocating a new one.
func decode(b []byte, maxAttachments int, ns *string) (Packet, error) {
	var p Packet
	if len(b) == 0 {
		return p, fmt.Errorf("%w: empty packet", ErrInvalidType)
	}
	if b[0] < '0' || b[0] > '6' {
		return p, fmt.Errorf("%w %q", ErrInvalidType, b[0])
	}
	p.Type = Type(b[0] - '0')
	i := 1

	n := 0
	if p.Type.binary() {
		var err error
		if n, i, err = attachmentCount(b, i, maxAttachments); err != nil {
			return Packet{}, err
		}
	}

	p.Namespace = "/"
	if i < len(b) && b[i] == '/' {
		s := i
		for i < len(b) && b[i] != ',' {
			i++
		}
		p.Namespace = namespaceString(b[s:i], ns)
		if i < len(b) {
			i++ // the ','
		}
	}

	if i < len(b) && isDigit(b[i]) {
		var id uint64
		for ; i < len(b) && isDigit(b[i]); i++ {
			d := uint64(b[i] - '0')
			if id > (math.MaxUint64-d)/10 {
				return Packet{}, fmt.Errorf("%w: overflows uint64", ErrInvalidID)
			}
			id = id*10 + d
		}
		p.ID, p.HasID = id, true
	}

	if i < len(b) {
		p.Data = b[i:len(b):len(b)]
		if err := checkPayload(p.Type, p.Data); err != nil {
			return Packet{}, err
		}
	} else if p.Type == Event || p.Type == BinaryEvent {
		return Packet{}, fmt.Errorf("%w: %v without payload", ErrInvalidPayload, p.Type)
	}
	if n > 0 {
		p.Attachments = make([][]byte, n)
	}
	return p, nil
}

// attachmentCount parses "<n>-" at b[i] and returns n and the index after the '-'.
func attachmentCount(b []byte, i, limit int) (n, next int, err error) {
	if limit <= 0 {
		limit = DefaultMaxAttachments
	}
	s := i
	for ; i < len(b) && isDigit(b[i]); i++ {
		d := int(b[i] - '0')
		if n > limit/10 || n*10 > limit-d {
			return 0, 0, fmt.Errorf("%w: more than %d attachments", ErrInvalidAttachments, limit)
		}
		n = n*10 + d
	}
	if i == s || i >= len(b) || b[i] != '-' {
		return 0, 0, fmt.Errorf("%w: want <count>-", ErrInvalidAttachments)
	}
	return n, i + 1, nil
}

// namespaceString returns nsp as a string, reusing "/" and the cached string *cache when equal.
func namespaceString(nsp []byte, cache *string) string {
	if len(nsp) == 1 {
		return "/"
	}
	if cache != nil {
		if *cache == string(nsp) {
			return *cache
		}
		*cache = string(nsp)
		return *cache
	}
	return string(nsp)
}

// checkPayload validates a present (non-empty) payload for packet type t.
func checkPayload(t Type, data []byte) error {
	if t == Disconnect {
		return fmt.Errorf("%w: DISCONNECT takes no payload", ErrInvalidPayload)
	}
	if !validJSON(data) {
		return fmt.Errorf("%w: not valid JSON", ErrInvalidPayload)
	}
	c := data[skipSpace(data, 0)] // valid JSON is not all whitespace
	switch t {
	case Connect:
		if c != '{' {
			return fmt.Errorf("%w: CONNECT payload must be an object", ErrInvalidPayload)
		}
	case ConnectError:
		if c != '{' && c != '"' {
			return fmt.Errorf("%w: CONNECT_ERROR payload must be an object or a string", ErrInvalidPayload)
		}
	case Ack, BinaryAck:
		if c != '[' {
			return fmt.Errorf("%w: %v payload must be an array", ErrInvalidPayload, t)
		}
	case Event, BinaryEvent:
		raw, isString, err := eventNameRaw(data)
		if err != nil {
			return err
		}
		if isString && rawIsReserved(raw) {
			return fmt.Errorf("%w %q", ErrReservedEvent, appendUnquoted(nil, raw))
		}
	}
	return nil
}

// rawIsReserved reports whether the raw contents of a JSON string unescape to a reserved name.
func rawIsReserved(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return isReservedBytes(raw)
	}
	if len(raw) > 6*14 {
		return false // every unescaped byte costs at most 6 raw bytes; the longest name has 14
	}
	var buf [6 * 14]byte
	return isReservedBytes(appendUnquoted(buf[:0], raw))
}
