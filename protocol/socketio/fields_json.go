package socketio

import "fmt"

// EachField calls fn with the raw key (the string's contents, still
// escaped) and the raw value of every member of the JSON object data, in
// order, validating as it goes. It lets callers decode small, known objects
// without reflection.
func EachField(data []byte, fn func(key, value []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return fmt.Errorf("%w: not an object", ErrInvalidPayload)
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		if skipSpace(data, i+1) != len(data) {
			return errNotJSON
		}
		return nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return errNotJSON
		}
		end := skipString(data, i)
		if end < 0 {
			return errNotJSON
		}
		key := data[i+1 : end-1]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return errNotJSON
		}
		start := skipSpace(data, i+1)
		vend := skipValue(data, start)
		if vend < 0 {
			return errNotJSON
		}
		if err := fn(key, data[start:vend]); err != nil {
			return err
		}
		i = skipSpace(data, vend)
		switch {
		case i < len(data) && data[i] == ',':
			i = skipSpace(data, i+1)
		case i < len(data) && data[i] == '}':
			if skipSpace(data, i+1) != len(data) {
				return errNotJSON
			}
			return nil
		default:
			return errNotJSON
		}
	}
}

// UnquoteString returns the value of the raw JSON string s (quotes
// included), unescaped the way encoding/json does.
func UnquoteString(s []byte) (string, error) {
	if len(s) < 2 || s[0] != '"' || skipString(s, 0) != len(s) {
		return "", fmt.Errorf("%w: not a string", ErrInvalidPayload)
	}
	return string(appendUnquoted(nil, s[1:len(s)-1])), nil
}

// AppendString appends s as a JSON string, escaped as encoding/json does
// (without the HTML escaping).
func AppendString(dst []byte, s string) []byte { return appendString(dst, s, false) }

// AppendUnquoted appends the text of a JSON string given its raw contents
// (what lies between the quotes, syntactically valid), unescaped as
// encoding/json does: invalid UTF-8 and unpaired surrogates become U+FFFD.
func AppendUnquoted(dst, raw []byte) []byte { return appendUnquoted(dst, raw) }
