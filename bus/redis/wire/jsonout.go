package wire

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// This file writes JSON the way JavaScript's JSON.stringify writes the value a notepack.io
// decoder produces, so that a packet relayed by a Go node reads like one relayed by Node.

const hexDigits = "0123456789abcdef"

// jsonSafe[c] reports whether ASCII byte c stands for itself inside a JSON.stringify string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSString appends s as JSON.stringify writes a string: only '"', '\\' and control
// characters are escaped (\b \f \n \r \t, else \u00xx). s is the UTF-8 of a msgpack str; an
// invalid byte becomes U+FFFD, as Node's UTF-8 decoding would make it.
func appendJSString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
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
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = utf8.AppendRune(dst, utf8.RuneError)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendJSNumber appends f as JavaScript's Number.prototype.toString writes it: the shortest
// representation that reads back as f, integral values without a fraction, exponent form below
// 1e-6 and from 1e21 on ("1e+21", "1.5e-7"), and -0 as "0". JSON.stringify writes NaN and ±Inf
// as null; as an object key (String(key)) they are "NaN", "Infinity" and "-Infinity".
func appendJSNumber(dst []byte, f float64, key bool) []byte {
	switch {
	case math.IsNaN(f):
		if key {
			return append(dst, "NaN"...)
		}
		return append(dst, "null"...)
	case math.IsInf(f, 0):
		if !key {
			return append(dst, "null"...)
		}
		if f < 0 {
			return append(dst, "-Infinity"...)
		}
		return append(dst, "Infinity"...)
	case f == 0:
		return append(dst, '0') // also -0
	}
	format := byte('f')
	if a := math.Abs(f); a < 1e-6 || a >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Go writes at least two exponent digits ("1e-07"); JavaScript writes as few as needed.
		if n := len(dst); dst[n-3] == '-' || dst[n-3] == '+' {
			if dst[n-2] == '0' {
				dst[n-2] = dst[n-1]
				dst = dst[:n-1]
			}
		}
	}
	return dst
}

// maxDateMillis is the range of a JavaScript Date: ±8.64e15 ms around the epoch.
const maxDateMillis = 8_640_000_000_000_000

// appendISODate appends, as a JSON string, what JSON.stringify writes for the Date of ms
// milliseconds since the epoch: Date.prototype.toISOString ("2026-11-25T23:38:22.000Z", with a
// signed six-digit year outside 0000–9999), or null for a date out of range (an invalid Date).
func appendISODate(dst []byte, ms int64) []byte {
	if ms > maxDateMillis || ms < -maxDateMillis {
		return append(dst, "null"...)
	}
	t := time.UnixMilli(ms).UTC()
	dst = append(dst, '"')
	switch y := t.Year(); {
	case y >= 0 && y <= 9999:
		dst = appendPadded(dst, int64(y), 4)
	case y < 0:
		dst = appendPadded(append(dst, '-'), -int64(y), 6)
	default:
		dst = appendPadded(append(dst, '+'), int64(y), 6)
	}
	dst = appendPadded(append(dst, '-'), int64(t.Month()), 2)
	dst = appendPadded(append(dst, '-'), int64(t.Day()), 2)
	dst = appendPadded(append(dst, 'T'), int64(t.Hour()), 2)
	dst = appendPadded(append(dst, ':'), int64(t.Minute()), 2)
	dst = appendPadded(append(dst, ':'), int64(t.Second()), 2)
	dst = appendPadded(append(dst, '.'), int64(t.Nanosecond()/1e6), 3)
	return append(dst, 'Z', '"')
}

// appendPadded appends the non-negative n in decimal with at least width digits.
func appendPadded(dst []byte, n int64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], n, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}
