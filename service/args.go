package service

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// Args are the arguments of a client event or of a client's ack: the raw
// JSON array as the client sent it (object key order included) and the
// binary attachments that its placeholders {"_placeholder":true,"num":N}
// refer to. Args are immutable and may be kept after the handler returns.
//
// A handler that returns an Args value replies with exactly those arguments,
// e.g. to echo an event.
type Args struct {
	raw   json.RawMessage   // the JSON array
	elems []json.RawMessage // its elements, aliasing raw
	atts  [][]byte
}

// newArgs checks raw (a JSON array; null or empty means none) and its
// placeholders against atts.
func newArgs(raw json.RawMessage, atts [][]byte) (Args, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Args{raw: json.RawMessage("[]"), atts: atts}, nil
	}
	if err := socketio.CheckPlaceholders(raw, len(atts)); err != nil {
		return Args{}, err
	}
	parts, err := socketio.SplitArray(nil, raw)
	if err != nil {
		return Args{}, err
	}
	elems := make([]json.RawMessage, len(parts))
	for i, p := range parts {
		elems[i] = p
	}
	return Args{raw: raw, elems: elems, atts: atts}, nil
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.elems) }

// Raw returns argument i as raw JSON, nil when there is none. Binary values
// in it are placeholders referring to Attachments.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.elems) {
		return nil
	}
	return a.elems[i]
}

// JSON returns all arguments as one JSON array, placeholders included.
func (a Args) JSON() json.RawMessage {
	if a.raw == nil {
		return json.RawMessage("[]")
	}
	return a.raw
}

// Attachments returns the binary attachments the placeholders refer to.
func (a Args) Attachments() [][]byte { return a.atts }

// Decode unmarshals argument i into v with encoding/json. A binary value
// decodes into a []byte wherever it is nested.
func (a Args) Decode(i int, v any) error {
	raw := a.Raw(i)
	if raw == nil {
		return fmt.Errorf("service: argument %d missing (have %d)", i, len(a.elems))
	}
	if len(a.atts) > 0 {
		var err error
		if raw, err = socketio.ResolvePlaceholders(raw, a.atts); err != nil {
			return err
		}
	}
	return json.Unmarshal(raw, v)
}

// Bytes returns argument i when it is a binary value.
func (a Args) Bytes(i int) ([]byte, bool) {
	raw := a.Raw(i)
	if len(raw) == 0 || raw[0] != '{' || len(a.atts) == 0 {
		return nil, false
	}
	n, ok := placeholderNum(raw)
	if !ok || n >= len(a.atts) {
		return nil, false
	}
	return a.atts[n], true
}

// placeholderNum returns N of the placeholder {"_placeholder":true,"num":N}.
func placeholderNum(raw []byte) (int, bool) {
	var ph struct {
		Placeholder bool `json:"_placeholder"`
		Num         *int `json:"num"`
	}
	if json.Unmarshal(raw, &ph) != nil || !ph.Placeholder || ph.Num == nil || *ph.Num < 0 {
		return 0, false
	}
	return *ph.Num, true
}

// Value decodes argument i into a generic value: map[string]any, []any,
// string, json.Number, bool or nil, with binary values as []byte wherever
// they are nested. Objects lose their key order (use Raw or Decode to keep
// it).
func (a Args) Value(i int) (any, error) {
	raw := a.Raw(i)
	if raw == nil {
		return nil, fmt.Errorf("service: argument %d missing (have %d)", i, len(a.elems))
	}
	return socketio.DecodeValue(raw, a.atts)
}

// Values are several ack arguments: a handler that returns
// Values{"ok", 42} acks with the two arguments "ok" and 42 (returning
// []any{"ok", 42} would ack with one argument, an array).
type Values []any

// encodeArgs encodes the reply value of a handler into the JSON array of
// ack arguments and its attachments: nil is no argument, Values several,
// Args themselves, anything else one argument.
func encodeArgs(v any) (json.RawMessage, [][]byte, error) {
	switch t := v.(type) {
	case nil:
		return json.RawMessage("[]"), nil, nil
	case Args:
		return t.JSON(), t.atts, nil
	case *Args:
		if t == nil {
			return json.RawMessage("[]"), nil, nil
		}
		return t.JSON(), t.atts, nil
	case Values:
		return socketio.AppendAckData(nil, t)
	}
	return socketio.AppendAckData(nil, []any{v})
}
