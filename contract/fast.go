package contract

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// The bodies that cross NATS once per client event — Event and
// EventReply — have hand-written encoders and decoders: reflection-based
// encoding/json was the largest cost of a round trip through a service.
// They produce and accept the same JSON as encoding/json does.

// AppendJSON appends the JSON encoding of e. Args and Data must be valid
// JSON (as the edge, which decoded them, knows they are).
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"sid":`...)
	dst = socketio.AppendString(dst, e.SID)
	dst = append(dst, `,"ns":`...)
	dst = socketio.AppendString(dst, e.NS)
	dst = append(dst, `,"event":`...)
	dst = socketio.AppendString(dst, e.Event)
	dst = append(dst, `,"args":`...)
	dst = appendRaw(dst, e.Args)
	if len(e.Attachments) > 0 {
		dst = append(dst, `,"attachments":`...)
		dst = appendBinaries(dst, e.Attachments)
	}
	dst = append(dst, `,"node":`...)
	dst = socketio.AppendString(dst, e.Node)
	if len(e.Data) > 0 {
		dst = append(dst, `,"data":`...)
		dst = append(dst, e.Data...)
	}
	if e.User != "" {
		dst = append(dst, `,"user":`...)
		dst = socketio.AppendString(dst, e.User)
	}
	return append(dst, '}')
}

// UnmarshalJSON decodes an Event without reflection.
func (e *Event) UnmarshalJSON(data []byte) error {
	*e = Event{}
	return socketio.EachField(data, func(key, v []byte) error {
		var err error
		switch string(key) {
		case "sid":
			e.SID, err = str(v)
		case "ns":
			e.NS, err = str(v)
		case "event":
			e.Event, err = str(v)
		case "node":
			e.Node, err = str(v)
		case "user":
			e.User, err = str(v)
		case "args":
			e.Args = raw(v)
		case "data":
			e.Data = raw(v)
		case "attachments":
			e.Attachments, err = binaries(v)
		}
		if err != nil {
			return fmt.Errorf("contract: event %s: %w", key, err)
		}
		return nil
	})
}

// AppendJSON appends the JSON encoding of r.
func (r *EventReply) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	sep := func() {
		if len(dst) > 0 && dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
	}
	if len(r.Args) > 0 {
		dst = append(dst, `"args":`...)
		dst = append(dst, r.Args...)
	}
	if len(r.Attachments) > 0 {
		sep()
		dst = append(dst, `"attachments":`...)
		dst = appendBinaries(dst, r.Attachments)
	}
	for _, f := range []struct {
		name  string
		rooms []string
	}{{"join", r.Join}, {"leave", r.Leave}} {
		if len(f.rooms) == 0 {
			continue
		}
		sep()
		dst = append(dst, '"')
		dst = append(dst, f.name...)
		dst = append(dst, `":[`...)
		for i, room := range f.rooms {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = socketio.AppendString(dst, room)
		}
		dst = append(dst, ']')
	}
	if r.Error != nil {
		sep()
		b, _ := json.Marshal(r.Error)
		dst = append(dst, `"error":`...)
		dst = append(dst, b...)
	}
	return append(dst, '}')
}

// UnmarshalJSON decodes an EventReply without reflection (the error, rare,
// goes through encoding/json).
func (r *EventReply) UnmarshalJSON(data []byte) error {
	*r = EventReply{}
	return socketio.EachField(data, func(key, v []byte) error {
		var err error
		switch string(key) {
		case "args":
			r.Args = raw(v)
		case "attachments":
			r.Attachments, err = binaries(v)
		case "join":
			r.Join, err = strs(v)
		case "leave":
			r.Leave, err = strs(v)
		case "error":
			if string(v) != "null" {
				r.Error = new(Error)
				err = json.Unmarshal(v, r.Error)
			}
		}
		if err != nil {
			return fmt.Errorf("contract: reply %s: %w", key, err)
		}
		return nil
	})
}

func appendRaw(dst []byte, v json.RawMessage) []byte {
	if len(v) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, v...)
}

func appendBinaries(dst []byte, bins [][]byte) []byte {
	dst = append(dst, '[')
	for i, b := range bins {
		if i > 0 {
			dst = append(dst, ',')
		}
		if b == nil {
			dst = append(dst, "null"...)
			continue
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, b)
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

// str decodes a JSON string; null is "".
func str(v []byte) (string, error) {
	if string(v) == "null" {
		return "", nil
	}
	return socketio.UnquoteString(v)
}

// raw copies a raw value (like json.RawMessage does); null stays "null".
func raw(v []byte) json.RawMessage { return append(json.RawMessage(nil), v...) }

func strs(v []byte) ([]string, error) {
	if string(v) == "null" {
		return nil, nil
	}
	elems, err := socketio.SplitArray(nil, v)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(elems))
	for i, el := range elems {
		if out[i], err = socketio.UnquoteString(el); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func binaries(v []byte) ([][]byte, error) {
	if string(v) == "null" {
		return nil, nil
	}
	elems, err := socketio.SplitArray(nil, v)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(elems))
	for i, el := range elems {
		if string(el) == "null" {
			continue
		}
		s, err := socketio.UnquoteString(el)
		if err != nil {
			return nil, err
		}
		if out[i], err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}
