package edge

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// Args are the arguments of an event or an acknowledgement, kept as the raw
// JSON the client sent (so key order survives an echo) plus the binary
// attachments its placeholders refer to. Args are immutable and may be kept
// after the handler returns. The zero Args has no arguments.
type Args struct {
	// v is behind a pointer so that an Args fits in an interface without
	// an allocation (Ack(e.Args) is the common echo), and so that the
	// values of an incoming event can share one allocation with its Event.
	v *argsVal
}

type argsVal struct {
	data  []byte   // the raw JSON array of arguments (event name excluded)
	elems [][]byte // the elements of data
	atts  [][]byte
}

var noArgs argsVal

// vals returns a's values; the zero Args has none.
func (a Args) vals() *argsVal {
	if a.v == nil {
		return &noArgs
	}
	return a.v
}

func newArgs(array []byte, skipFirst bool, atts [][]byte) (Args, error) {
	elems, err := socketio.SplitArray(nil, array)
	if err != nil {
		return Args{}, err
	}
	v := &argsVal{elems: elems, atts: atts}
	if skipFirst && len(elems) > 0 {
		v.elems = elems[1:]
	}
	v.data = rebuildArray(v.elems)
	return Args{v}, nil
}

// eventArgs fills v with the arguments of an EVENT packet's data (the name
// skipped), splitting into elemBuf while it is large enough. The arguments'
// array is made in place in data, which the caller hands over (it is the
// packet the reader allocated for this message).
func eventArgs(v *argsVal, elemBuf [][]byte, data []byte, atts [][]byte) error {
	elems, args, err := socketio.SplitEvent(elemBuf, data)
	if err != nil {
		return err
	}
	*v = argsVal{data: args, elems: elems[1:], atts: atts}
	return nil
}

// rebuildArray returns a JSON array of elems; elements alias one buffer.
func rebuildArray(elems [][]byte) []byte {
	n := 2
	for _, e := range elems {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, ']')
}

// RawArgs builds Args from a raw JSON array and the attachments its
// placeholders refer to, e.g. to relay a message from another process.
func RawArgs(array json.RawMessage, attachments [][]byte) (Args, error) {
	if err := socketio.CheckPlaceholders(array, len(attachments)); err != nil {
		return Args{}, err
	}
	return newArgs(array, false, attachments)
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.vals().elems) }

// Raw returns argument i as raw JSON; binary values appear as
// {"_placeholder":true,"num":N} objects referring to Attachments.
func (a Args) Raw(i int) json.RawMessage {
	v := a.vals()
	if i < 0 || i >= len(v.elems) {
		return nil
	}
	return v.elems[i]
}

// Slice returns the arguments from i on (they keep referring to the same
// attachments), e.g. to forward the rest of an event's arguments.
func (a Args) Slice(i int) Args {
	v := a.vals()
	if i > len(v.elems) {
		i = len(v.elems)
	}
	elems := v.elems[i:]
	return Args{&argsVal{data: rebuildArray(elems), elems: elems, atts: v.atts}}
}

// JSON returns all arguments as one raw JSON array (placeholders included).
func (a Args) JSON() json.RawMessage { return a.vals().data }

// Attachments returns the binary attachments.
func (a Args) Attachments() [][]byte { return a.vals().atts }

// Decode unmarshals argument i into v. Binary values decode into []byte
// fields wherever they are nested.
func (a Args) Decode(i int, v any) error {
	raw := a.Raw(i)
	if raw == nil {
		return fmt.Errorf("edge: argument %d of %d missing", i, a.Len())
	}
	if atts := a.vals().atts; len(atts) > 0 {
		var err error
		if raw, err = socketio.ResolvePlaceholders(raw, atts); err != nil {
			return err
		}
	}
	return json.Unmarshal(raw, v)
}

// Value decodes argument i into a generic value (map[string]any, []any,
// string, json.Number, bool, nil) in which binary values are []byte,
// wherever they are nested. Objects lose their key order.
func (a Args) Value(i int) (any, error) {
	raw := a.Raw(i)
	if raw == nil {
		return nil, fmt.Errorf("edge: argument %d of %d missing", i, a.Len())
	}
	return socketio.DecodeValue(raw, a.vals().atts)
}

// String returns argument i if it is a JSON string, else "".
func (a Args) String(i int) string {
	raw := a.Raw(i)
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	s, err := strconv.Unquote(string(raw))
	if err != nil {
		var out string
		if json.Unmarshal(raw, &out) == nil {
			return out
		}
		return ""
	}
	return s
}

// Bytes returns argument i if it is a binary value.
func (a Args) Bytes(i int) ([]byte, bool) {
	raw, atts := a.Raw(i), a.vals().atts
	if raw == nil || len(atts) == 0 || raw[0] != '{' {
		return nil, false
	}
	var ph struct {
		Placeholder bool `json:"_placeholder"`
		Num         *int `json:"num"`
	}
	if json.Unmarshal(raw, &ph) != nil || !ph.Placeholder || ph.Num == nil || *ph.Num < 0 || *ph.Num >= len(atts) {
		return nil, false
	}
	return atts[*ph.Num], true
}

// Event is one event received from a client.
type Event struct {
	// Socket is the socket that received the event.
	Socket *Socket
	// Name is the event name.
	Name string
	// Args are the event's arguments.
	Args Args

	ackID  uint64
	hasAck bool
	acked  atomic.Bool
}

// WantsAck reports whether the client asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.hasAck }

// Ack answers the client's acknowledgement callback with args (at most once;
// later calls and calls for an event without ack do nothing). Values are
// encoded like Emit's; []byte values anywhere become binary attachments; an
// Args value is spliced in raw. Ack may be called from any goroutine, also
// after the handler returned.
func (e *Event) Ack(args ...any) error {
	if !e.hasAck || !e.acked.CompareAndSwap(false, true) {
		return nil
	}
	return e.Socket.sendAck(e.ackID, args)
}
