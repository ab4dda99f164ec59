package socketio

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// AppendPacket appends the text encoding of p to dst: the type digit, "<len(p.Attachments)>-" for
// BinaryEvent and BinaryAck, the namespace and a ',' when it is neither "" nor "/", the ack id when
// HasID, then Data verbatim. The namespace is written as given (the caller guarantees it starts
// with '/'), and p.Type must be one of the seven types. The attachments themselves are sent by
// the caller as separate binary messages, right after this one and with no other message in
// between. It does not allocate beyond growing dst.
func AppendPacket(dst []byte, p *Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type.binary() {
		dst = strconv.AppendUint(dst, uint64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// AppendEventData appends the JSON array [event, args...] to dst and returns the extended slice
// with the binary values found in args, in placeholder order. It refuses a reserved event name
// (ErrReservedEvent), which no receiver would accept.
//
// Each argument is encoded as encoding/json would encode it (HTML-safe string escaping included),
// except:
//
//   - a []byte, or a named type whose underlying type is []byte, becomes the placeholder
//     {"_placeholder":true,"num":N} and is appended to attachments (not copied). N counts from 0
//     in depth-first order: arrays by index, objects by key in the order written (sorted map keys,
//     struct fields in declaration order). A nil one is written as null.
//   - json.RawMessage is written verbatim (it is trusted to be valid JSON); a nil one as null.
//
// This applies anywhere inside the arguments: through pointers, interfaces, slices, arrays, maps
// and exported struct fields (honouring `json` tags as encoding/json does: names, "-", omitempty,
// omitzero, string, embedded structs). A value whose type implements json.Marshaler or
// encoding.TextMarshaler is encoded by encoding/json, even when its underlying type is []byte; so
// is every value whose type cannot hold a []byte. When the packet has attachments, send it as
// BinaryEvent with Attachments set to the returned slice; otherwise as Event.
//
// On error dst is returned unextended. The errors are encoding/json's (*json.UnsupportedTypeError,
// *json.UnsupportedValueError, *json.MarshalerError) or wrap ErrReservedEvent.
func AppendEventData(dst []byte, event string, args []any) (data []byte, attachments [][]byte, err error) {
	if IsReserved(event) {
		return dst, nil, fmt.Errorf("%w %q", ErrReservedEvent, event)
	}
	e := encoder{buf: dst}
	e.buf = append(e.buf, '[')
	e.buf = appendString(e.buf, event, true)
	for _, a := range args {
		e.buf = append(e.buf, ',')
		if err := e.any(a, 0); err != nil {
			return dst, nil, err
		}
	}
	return append(e.buf, ']'), e.att, nil
}

// AppendAckData is AppendEventData without the event name: it appends the JSON array [args...] of
// an ACK and returns the binary values found.
func AppendAckData(dst []byte, args []any) (data []byte, attachments [][]byte, err error) {
	e := encoder{buf: dst}
	e.buf = append(e.buf, '[')
	for i, a := range args {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.any(a, 0); err != nil {
			return dst, nil, err
		}
	}
	return append(e.buf, ']'), e.att, nil
}

const hexDigits = "0123456789abcdef"

// htmlSafe[c] reports whether ASCII byte c is written as itself inside a JSON string by
// encoding/json with HTML escaping on.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string exactly as encoding/json writes it: invalid UTF-8 as
// \ufffd, U+2028 and U+2029 escaped, and with escapeHTML '<', '>' and '&' as \u003c, \u003e, \u0026.
func appendString(dst []byte, s string, escapeHTML bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if htmlSafe[c] || !escapeHTML && (c == '<' || c == '>' || c == '&') {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += n
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += n
			start = i
			continue
		}
		i += n
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat appends f as encoding/json writes a float of the given bit size: shortest
// representation, exponent form only below 1e-6 or from 1e21 on, with a two-digit minimum
// exponent trimmed ("1e-07" → "1e-7").
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, bits)}
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 64 && (a < 1e-6 || a >= 1e21) || bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}
