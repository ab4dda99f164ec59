package socketio

import (
	"encoding/base64"
	"fmt"
)

// A placeholder stands for binary attachment number num:
//
//	{"_placeholder":true,"num":0}
//
// Any object with a member "_placeholder" whose value is true is taken for a placeholder (as
// socket.io-parser does); it is well-formed only when it has exactly the two members
// "_placeholder" and "num" (in either order, whitespace and escaped key spellings tolerated) and num
// is a plain non-negative integer below the attachment count. Other objects are left alone.

// placeholderKey identifies the object member being scanned.
type placeholderKey uint8

const (
	keyOther placeholderKey = iota
	keyPlaceholder
	keyNum
)

func classifyKey(raw []byte) placeholderKey {
	switch {
	case rawStringIs(raw, "_placeholder"):
		return keyPlaceholder
	case rawStringIs(raw, "num"):
		return keyNum
	}
	return keyOther
}

// candidate is the state of the innermost open object while it has no nested container: only such
// an object can be a well-formed placeholder.
type candidate struct {
	start   int // offset of its '{'
	members int
	isPH    bool // a "_placeholder":true member was seen
	num     int  // -1 until a valid "num" member was seen
}

// resolver receives the placeholders found by scanPlaceholders and builds the resolved copy.
type resolver struct {
	att  [][]byte
	out  []byte
	last int // b[:last] is already in out
}

func (r *resolver) replace(b []byte, start, end int, att []byte) {
	r.out = append(r.out, b[r.last:start]...)
	r.out = append(r.out, '"')
	r.out = base64.StdEncoding.AppendEncode(r.out, att)
	r.out = append(r.out, '"')
	r.last = end
}

// scanPlaceholders checks every placeholder of the JSON document b against n attachments and, when
// r is not nil, hands each one to r. Like skipValue it is iterative and does not allocate below 128
// levels of nesting. Errors wrap ErrPlaceholder or, for a document that is not valid JSON,
// ErrInvalidPayload.
func scanPlaceholders(b []byte, n int, r *resolver) error {
	var obj, nested levels // per open container: is an object; (objects) holds a nested container
	var cand candidate
	key := keyOther // the member whose value is expected next, inside an object
	depth := 0
	i := 0
	for {
		// A value is expected at i.
		if i = skipSpace(b, i); i >= len(b) {
			return errNotJSON
		}
		inObj := depth > 0 && obj.get(depth-1)
		if c := b[i]; c == '{' || c == '[' {
			if depth == maxDepth {
				return errNotJSON
			}
			if inObj {
				if !nested.get(depth-1) && cand.isPH {
					return fmt.Errorf("%w: placeholder with a nested value", ErrPlaceholder)
				}
				nested.set(depth-1, true)
			}
			obj.set(depth, c == '{')
			nested.set(depth, false)
			depth++
			if c == '{' {
				cand = candidate{start: i, num: -1}
			}
			if i = skipSpace(b, i+1); i < len(b) && b[i] == c+2 {
				i++
				depth-- // empty container: never a placeholder
			} else {
				if c == '{' {
					if key, i = scanKey(b, i); i < 0 {
						return errNotJSON
					}
					cand.members++
				}
				continue
			}
		} else {
			s := i
			if i = skipScalar(b, i); i < 0 {
				return errNotJSON
			}
			if inObj && key != keyOther {
				if err := cand.member(key, b[s:i], nested.get(depth-1)); err != nil {
					return err
				}
			}
		}
		// A value ended at i: close containers until one continues with ','.
		for {
			if depth == 0 {
				if skipSpace(b, i) != len(b) {
					return errNotJSON
				}
				return nil
			}
			if i = skipSpace(b, i); i >= len(b) {
				return errNotJSON
			}
			isObj := obj.get(depth - 1)
			if b[i] == ',' {
				i++
				if isObj {
					if key, i = scanKey(b, skipSpace(b, i)); i < 0 {
						return errNotJSON
					}
					cand.members++
				}
				break
			}
			if isObj && b[i] == '}' {
				i++
				if !nested.get(depth-1) && cand.isPH {
					if err := cand.check(n); err != nil {
						return err
					}
					if r != nil {
						r.replace(b, cand.start, i, r.att[cand.num])
					}
				}
				depth--
				continue
			}
			if !isObj && b[i] == ']' {
				i++
				depth--
				continue
			}
			return errNotJSON
		}
	}
}

var errNotJSON = fmt.Errorf("%w: not valid JSON", ErrInvalidPayload)

// scanKey scans `"key" :` at b[i] and returns the kind of key and the index after the colon.
func scanKey(b []byte, i int) (placeholderKey, int) {
	if i >= len(b) || b[i] != '"' {
		return keyOther, -1
	}
	end := skipString(b, i)
	if end < 0 {
		return keyOther, -1
	}
	j := skipSpace(b, end)
	if j >= len(b) || b[j] != ':' {
		return keyOther, -1
	}
	return classifyKey(b[i+1 : end-1]), j + 1
}

// member records a scalar member value of the innermost object. nested tells that the object
// already holds a container, which disqualifies it as a placeholder.
func (c *candidate) member(key placeholderKey, v []byte, nested bool) error {
	switch key {
	case keyPlaceholder:
		if string(v) == "true" {
			if nested {
				return fmt.Errorf("%w: placeholder with a nested value", ErrPlaceholder)
			}
			c.isPH = true
		}
	case keyNum:
		c.num = parseIndex(v)
	}
	return nil
}

// check validates a finished placeholder object against n attachments.
func (c *candidate) check(n int) error {
	if c.members != 2 || c.num < 0 {
		return fmt.Errorf("%w: want {\"_placeholder\":true,\"num\":<index>}", ErrPlaceholder)
	}
	if c.num >= n {
		return fmt.Errorf("%w: num %d out of range, %d attachments", ErrPlaceholder, c.num, n)
	}
	return nil
}

// parseIndex parses a plain non-negative decimal integer, or returns -1.
func parseIndex(v []byte) int {
	if len(v) == 0 || len(v) > 9 || len(v) > 1 && v[0] == '0' {
		return -1
	}
	n := 0
	for _, c := range v {
		if !isDigit(c) {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// CheckPlaceholders reports whether every placeholder in the JSON document data is well-formed and
// refers to one of n attachments (duplicates allowed). Errors wrap ErrPlaceholder, or
// ErrInvalidPayload when data is not valid JSON. It does not allocate on success.
func CheckPlaceholders(data []byte, n int) error {
	return scanPlaceholders(data, n, nil)
}

// ResolvePlaceholders returns a copy of the JSON document data in which every placeholder is
// replaced by the JSON string of the standard base64 encoding of attachments[num], so that
// json.Unmarshal into a []byte field yields the attachment. Other objects are copied unchanged.
// Errors are those of CheckPlaceholders.
func ResolvePlaceholders(data []byte, attachments [][]byte) ([]byte, error) {
	size := len(data)
	for _, a := range attachments {
		size += base64.StdEncoding.EncodedLen(len(a)) + 2
	}
	r := resolver{att: attachments, out: make([]byte, 0, size)}
	if err := scanPlaceholders(data, len(attachments), &r); err != nil {
		return nil, err
	}
	return append(r.out, data[r.last:]...), nil
}
