package wire

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// This file converts msgpack values to JSON (the decoding direction): see the table in doc.go.

// appendPlaceholder appends the placeholder of attachment num.
func appendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

// attach copies b into a new attachment and appends its placeholder to dst.
func attach(dst []byte, atts *[][]byte, b []byte) []byte {
	*atts = append(*atts, append(make([]byte, 0, len(b)), b...))
	return appendPlaceholder(dst, len(*atts)-1)
}

// value appends the JSON form of the next value to dst (see doc.go for the mapping). It reports
// undefined=true, appending nothing, for notepack 2's undefined (fixext1 type 0). Binary values
// become placeholders; their copies are appended to atts.
func (r *reader) value(dst []byte, atts *[][]byte, depth int) (out []byte, undefined bool, err error) {
	c, err := r.peek()
	if err != nil {
		return dst, false, err
	}
	switch {
	case isUintCode(c) || isIntCode(c) || isFloatCode(c):
		n, err := r.number(c)
		if err != nil {
			return dst, false, err
		}
		return appendNumber(dst, n, false), false, nil
	case msgpcode.IsString(c):
		b, err := r.rawBytes()
		return appendJSString(dst, b), false, err
	case isArrayCode(c):
		return r.array(dst, atts, depth)
	case isMapCode(c):
		return r.object(dst, atts, depth)
	case msgpcode.IsBin(c):
		b, err := r.rawBytes()
		if err != nil {
			return dst, false, err
		}
		return attach(dst, atts, b), false, nil
	case msgpcode.IsExt(c):
		return r.extValue(dst, atts, c)
	case c == msgpcode.Nil:
		r.consume()
		return append(dst, "null"...), false, nil
	case c == msgpcode.True:
		r.consume()
		return append(dst, "true"...), false, nil
	case c == msgpcode.False:
		r.consume()
		return append(dst, "false"...), false, nil
	}
	return dst, false, malformed("invalid msgpack code %#x", c)
}

func appendNumber(dst []byte, n number, key bool) []byte {
	switch n.kind {
	case 'u':
		return strconv.AppendUint(dst, n.u, 10)
	case 'i':
		return strconv.AppendInt(dst, n.i, 10)
	}
	return appendJSNumber(dst, n.f, key)
}

func (r *reader) array(dst []byte, atts *[][]byte, depth int) ([]byte, bool, error) {
	n, _, err := r.arrayLen("array")
	if err != nil {
		return dst, false, err
	}
	if depth >= MaxDepth {
		return dst, false, malformed("nested deeper than %d", MaxDepth)
	}
	dst = append(dst, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		var undef bool
		if dst, undef, err = r.value(dst, atts, depth+1); err != nil {
			return dst, false, err
		}
		if undef {
			dst = append(dst, "null"...) // JSON.stringify writes undefined array elements as null
		}
	}
	return append(dst, ']'), false, nil
}

func (r *reader) object(dst []byte, atts *[][]byte, depth int) ([]byte, bool, error) {
	n, _, err := r.mapLen("map")
	if err != nil {
		return dst, false, err
	}
	if depth >= MaxDepth {
		return dst, false, malformed("nested deeper than %d", MaxDepth)
	}
	dst = append(dst, '{')
	first := true
	for i := 0; i < n; i++ {
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		keyStart := len(dst)
		if dst, err = r.key(dst); err != nil {
			return dst, false, err
		}
		key := dst[keyStart:]
		dst = append(dst, ':')
		valStart := len(dst)
		var undef bool
		if dst, undef, err = r.value(dst, atts, depth+1); err != nil {
			return dst, false, err
		}
		if undef {
			dst = dst[:mark] // JSON.stringify omits members whose value is undefined
			continue
		}
		if string(key) == `"_placeholder"` && string(dst[valStart:]) == "true" {
			r.phMaps++
		}
		first = false
	}
	return append(dst, '}'), false, nil
}

// key appends a map key as a JSON string: a JavaScript object key is String(key).
func (r *reader) key(dst []byte) ([]byte, error) {
	c, err := r.peek()
	if err != nil {
		return dst, err
	}
	switch {
	case msgpcode.IsString(c) || msgpcode.IsBin(c): // Buffer keys: buffer.toString() (UTF-8)
		b, err := r.rawBytes()
		return appendJSString(dst, b), err
	case isUintCode(c) || isIntCode(c) || isFloatCode(c):
		n, err := r.number(c)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '"')
		return append(appendNumber(dst, n, true), '"'), nil
	case c == msgpcode.Nil:
		r.consume()
		return append(dst, `"null"`...), nil
	case c == msgpcode.True:
		r.consume()
		return append(dst, `"true"`...), nil
	case c == msgpcode.False:
		r.consume()
		return append(dst, `"false"`...), nil
	}
	return dst, malformed("unsupported map key, code %#x", c)
}

// extValue converts an extension value the way notepack.io 3 decodes it:
//
//   - fixext1 type 0: undefined (notepack 2)
//   - type -1: a timestamp (32, 64 or 96 bit), a Date: its ISO string
//   - fixext8 type 0: a notepack 2 Date (int64 milliseconds): its ISO string
//   - ext8/16/32 type 0: a notepack 2 ArrayBuffer: binary
//   - any other: the array [type, <binary body>]
func (r *reader) extValue(dst []byte, atts *[][]byte, c byte) ([]byte, bool, error) {
	typ, body, err := r.ext()
	if err != nil {
		return dst, false, err
	}
	switch {
	case typ == 0 && c == msgpcode.FixExt1:
		return dst, true, nil
	case typ == -1:
		ms, err := timestampMillis(body)
		if err != nil {
			return dst, false, err
		}
		return appendISODate(dst, ms), false, nil
	case typ == 0 && c == msgpcode.FixExt8:
		return appendISODate(dst, int64(binary.BigEndian.Uint64(body))), false, nil
	case typ == 0 && (c == msgpcode.Ext8 || c == msgpcode.Ext16 || c == msgpcode.Ext32):
		return attach(dst, atts, body), false, nil
	}
	dst = append(strconv.AppendInt(append(dst, '['), int64(typ), 10), ',')
	return append(attach(dst, atts, body), ']'), false, nil
}

// timestampMillis decodes the body of a msgpack timestamp into JavaScript Date milliseconds
// (new Date(sec*1e3 + nsec/1e6), truncated toward zero).
func timestampMillis(b []byte) (int64, error) {
	var sec int64
	var nsec uint32
	switch len(b) {
	case 4:
		sec = int64(binary.BigEndian.Uint32(b))
	case 8:
		v := binary.BigEndian.Uint64(b)
		nsec, sec = uint32(v>>34), int64(v&(1<<34-1))
	case 12:
		nsec, sec = binary.BigEndian.Uint32(b), int64(binary.BigEndian.Uint64(b[4:]))
	default:
		return 0, malformed("timestamp of %d bytes", len(b))
	}
	if nsec > 999_999_999 {
		return 0, malformed("timestamp nanoseconds %d out of range", nsec)
	}
	const limit = maxDateMillis/1000 + 1
	switch { // out of the Date range either way; keep the sign and stay clear of overflow
	case sec > limit:
		return maxDateMillis + 1, nil
	case sec < -limit:
		return -maxDateMillis - 1, nil
	}
	ms := sec*1000 + int64(nsec/1e6)
	if ms < 0 && nsec%1e6 != 0 {
		ms++ // toward zero: -1000ms + 0.5ms is -999.5, truncated to -999
	}
	return ms, nil
}

// text converts the UTF-8 of a msgpack str to a string the way Node decodes it: an invalid byte
// becomes U+FFFD. (Node replaces a maximal invalid subsequence with one U+FFFD where Go's decoder,
// used here and by appendJSString alike, replaces each invalid byte.)
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return string(out)
}
