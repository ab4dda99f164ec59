package socketio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JSON scanning used on the decode side: a validating, allocation-free scanner
// equivalent to encoding/json's Valid (same grammar, same nesting limit, no UTF-8 check), and the
// helpers that look inside validated payloads without building values.

// maxDepth is the nesting limit of the scanner; it is encoding/json's limit.
const maxDepth = 10000

// strPlain[c] reports whether byte c stands for itself inside a JSON string: not a control
// character, not '"', not '\\'. Bytes >= 0x80 are accepted unchecked, as encoding/json does.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// structural[c] reports whether c opens or closes a string or a container.
var structural = func() (t [256]bool) {
	for _, c := range `"{}[]` {
		t[c] = true
	}
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func isHex(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

// Eight bytes at a time: the words below have a byte per lane.
const (
	lanes1  = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// hasSpecial reports whether one of the 8 bytes of w is a control character, '"' or '\\'. The
// zero-byte and less-than tests are exact for the word as a whole.
func hasSpecial(w uint64) bool {
	q := w ^ lanes1*'"'
	s := w ^ lanes1*'\\'
	return ((w-lanes1*0x20)&^w|(q-lanes1)&^q|(s-lanes1)&^s)&lanes80 != 0
}

// hasQuoteOrBackslash reports whether one of the 8 bytes of w is '"' or '\\'.
func hasQuoteOrBackslash(w uint64) bool {
	q := w ^ lanes1*'"'
	s := w ^ lanes1*'\\'
	return ((q-lanes1)&^q|(s-lanes1)&^s)&lanes80 != 0
}

// skipString returns the index after the JSON string starting at b[i] == '"', or -1.
func skipString(b []byte, i int) int {
	i++
	for {
		for i+8 <= len(b) && !hasSpecial(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // control character
			return -1
		}
	}
}

// skipNumber returns the index after the JSON number starting at b[i], or -1.
func skipNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return -1
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		s := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == s {
			return -1
		}
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == s {
			return -1
		}
	}
	return i
}

// skipLiteral returns the index after lit at b[i], or -1.
func skipLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// skipScalar returns the index after the string, number or literal at b[i], or -1.
func skipScalar(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	}
	return skipNumber(b, i)
}

// objectKey scans `"key" :` at b[i] and returns the index after the colon, or -1.
func objectKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = skipString(b, i); i < 0 {
		return -1
	}
	if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

// levels is a bit stack of open containers (bit set: object). The first 128 levels live inline;
// deeper documents grow it on the heap.
type levels struct {
	inline [2]uint64
	more   []uint64
}

func (l *levels) set(depth int, on bool) {
	var w *uint64
	if depth < 128 {
		w = &l.inline[depth>>6]
	} else {
		k := depth>>6 - 2
		for len(l.more) <= k {
			l.more = append(l.more, 0)
		}
		w = &l.more[k]
	}
	if on {
		*w |= 1 << (depth & 63)
	} else {
		*w &^= 1 << (depth & 63)
	}
}

func (l *levels) get(depth int) bool {
	if depth < 128 {
		return l.inline[depth>>6]&(1<<(depth&63)) != 0
	}
	return l.more[depth>>6-2]&(1<<(depth&63)) != 0
}

// skipValue validates the JSON value at b[i] (leading whitespace allowed) and returns the index
// after it, or -1. It is an iterative state machine: no recursion, no allocation below 128 levels.
func skipValue(b []byte, i int) int {
	var stack levels
	depth := 0
	for {
		// A value is expected at i.
		i = skipSpace(b, i)
		if i >= len(b) {
			return -1
		}
		if c := b[i]; c == '{' || c == '[' {
			if depth == maxDepth {
				return -1
			}
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '{'+2 == '}', '['+2 == ']'
				i++
			} else {
				stack.set(depth, c == '{')
				depth++
				if c == '{' {
					if i = objectKey(b, i); i < 0 {
						return -1
					}
				}
				continue
			}
		} else if i = skipScalar(b, i); i < 0 {
			return -1
		}
		// A value ended at i: close containers until one continues with ','.
		for {
			if depth == 0 {
				return i
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return -1
			}
			obj := stack.get(depth - 1)
			if b[i] == ',' {
				i++
				if obj {
					if i = objectKey(b, skipSpace(b, i)); i < 0 {
						return -1
					}
				}
				break
			}
			if obj && b[i] == '}' || !obj && b[i] == ']' {
				depth--
				i++
				continue
			}
			return -1
		}
	}
}

// validJSON reports whether b is one JSON value with optional surrounding whitespace.
func validJSON(b []byte) bool {
	i := skipValue(b, 0)
	return i >= 0 && skipSpace(b, i) == len(b)
}

// skipFast returns the index after the value at b[i] of a document already known to be valid:
// it matches brackets and strings without checking the grammar. It returns -1 rather than
// panicking when the document is not valid after all.
func skipFast(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipStringFast(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			for i < len(b) && !structural[b[i]] {
				i++
			}
			if i >= len(b) {
				break
			}
			switch b[i] {
			case '"':
				if i = skipStringFast(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	s := i
	for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != ']' && b[i] != '}' {
		i++
	}
	if i == s {
		return -1
	}
	return i
}

// skipStringFast returns the index after the string at b[i] == '"' without validating escapes.
func skipStringFast(b []byte, i int) int {
	for i++; i+8 <= len(b) && !hasQuoteOrBackslash(binary.LittleEndian.Uint64(b[i:])); {
		i += 8
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++
		}
	}
	return -1
}

// SplitArray appends to dst the raw bytes of each top-level element of the JSON array data, with
// the whitespace around elements trimmed. The elements alias data. data must be a valid JSON array
// (as checked by Decode for EVENT and ACK payloads): SplitArray matches brackets and quotes without
// validating the grammar again. It returns ErrInvalidPayload for input that is not an array. It
// allocates only when dst must grow.
func SplitArray(dst [][]byte, data []byte) ([][]byte, error) {
	dst, _, err := splitArray(dst, data)
	return dst, err
}

// SplitEvent is SplitArray for the data of an EVENT packet, ["name", args...], that also returns
// the arguments as a JSON array without allocating: the byte just before the first argument (a
// comma or a space) is overwritten with '[', so args shares data's memory from there to the
// closing bracket. data must therefore be the caller's to change, and elems[0] is the only part
// of it left before args. Without arguments, args is "[]".
func SplitEvent(dst [][]byte, data []byte) (elems [][]byte, args []byte, err error) {
	n := len(dst)
	dst, second, err := splitArray(dst, data)
	switch {
	case err != nil:
		return dst, nil, err
	case len(dst)-n < 2:
		return dst, []byte("[]"), nil
	}
	end := len(data) - 1
	for data[end] != ']' { // trailing whitespace (SplitArray checked it is only that)
		end--
	}
	data[second-1] = '['
	return dst, data[second-1 : end+1], nil
}

// splitArray is SplitArray; second is where the second element starts (0 if there is none).
func splitArray(dst [][]byte, data []byte) ([][]byte, int, error) {
	second := 0
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return dst, 0, fmt.Errorf("%w: not a JSON array", ErrInvalidPayload)
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		i++
	} else {
		for k := 0; ; k++ {
			if k == 1 {
				second = i
			}
			end := skipFast(data, i)
			if end < 0 {
				return dst, 0, fmt.Errorf("%w: malformed array element", ErrInvalidPayload)
			}
			dst = append(dst, data[i:end:end])
			if i = skipSpace(data, end); i >= len(data) {
				return dst, 0, fmt.Errorf("%w: unterminated array", ErrInvalidPayload)
			}
			if data[i] == ']' {
				i++
				break
			}
			if data[i] != ',' {
				return dst, 0, fmt.Errorf("%w: malformed array", ErrInvalidPayload)
			}
			i = skipSpace(data, i+1)
		}
	}
	if skipSpace(data, i) != len(data) {
		return dst, 0, fmt.Errorf("%w: data after array", ErrInvalidPayload)
	}
	return dst, second, nil
}

// eventNameRaw returns the first element of an EVENT payload: for a string its raw contents
// between the quotes (escapes not yet resolved), for a number its text.
func eventNameRaw(data []byte) (raw []byte, isString bool, err error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, false, fmt.Errorf("%w: event payload is not an array", ErrInvalidPayload)
	}
	if i = skipSpace(data, i+1); i >= len(data) {
		return nil, false, fmt.Errorf("%w: unterminated event array", ErrInvalidPayload)
	}
	switch c := data[i]; {
	case c == '"':
		end := skipString(data, i)
		if end < 0 {
			return nil, false, fmt.Errorf("%w: malformed event name", ErrInvalidPayload)
		}
		return data[i+1 : end-1], true, nil
	case c == '-' || isDigit(c):
		end := skipNumber(data, i)
		if end < 0 {
			return nil, false, fmt.Errorf("%w: malformed event name", ErrInvalidPayload)
		}
		return data[i:end], false, nil
	}
	return nil, false, fmt.Errorf("%w: event name must be a string or a number", ErrInvalidPayload)
}

// AppendEventName appends the event name of an EVENT payload (data[0]) to dst: a JSON string
// unescaped, or a number's text. With a reused dst it does not allocate, so a handler lookup such
// as handlers[string(name)] stays allocation-free.
func AppendEventName(dst, data []byte) ([]byte, error) {
	raw, isString, err := eventNameRaw(data)
	if err != nil {
		return dst, err
	}
	if !isString {
		return append(dst, raw...), nil
	}
	return appendUnquoted(dst, raw), nil
}

// EventName returns the event name (data[0]) of an EVENT payload: a JSON string unquoted and
// unescaped, or a number's text.
func EventName(data []byte) (string, error) {
	raw, isString, err := eventNameRaw(data)
	if err != nil {
		return "", err
	}
	if !isString || bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), nil
	}
	return string(appendUnquoted(nil, raw)), nil
}

// rawStringIs reports whether the raw contents of a JSON string (between the quotes) unescape to
// want. It does not allocate.
func rawStringIs(raw []byte, want string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == want
	}
	if len(raw) > 6*len(want) || len(want) > 32 {
		return false // every unescaped byte costs at most 6 raw bytes
	}
	var buf [4 * 32]byte
	return string(appendUnquoted(buf[:0], raw)) == want
}

// appendUnquoted appends the unescaped contents of a JSON string (raw is what lies between the
// quotes and must be syntactically valid) the way encoding/json decodes it: invalid UTF-8 and
// unpaired surrogates become U+FFFD.
func appendUnquoted(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw):
			i += 2
			switch raw[i-1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, ok := hex4(raw, i)
				if !ok {
					return append(dst, raw[i-2:]...) // not valid JSON; keep the rest as is
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(0), false
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						r2, ok = hex4(raw, i+2)
					}
					if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
			default: // '"', '\\', '/'
				dst = append(dst, raw[i-1])
			}
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, raw[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case isDigit(c):
			c -= '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			c = (c | 0x20) - 'a' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
