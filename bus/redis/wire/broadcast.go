package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// EncodeBroadcast encodes the broadcast message [uid, packet, opts] as the reference adapter
// publishes it: msgpack with packet keys in the order type, data, nsp (then id when ackID is not
// nil) and opts keys rooms, except, flags. data is the JSON array [event, args...] in which each
// {"_placeholder":true,"num":N} stands for attachments[N]; it becomes msgpack the way notepack.io
// encodes the equivalent JavaScript value, binary values as bin (see doc.go). Errors wrap
// ErrInvalidData (and socketio.ErrPlaceholder for a bad placeholder).
func EncodeBroadcast(uid string, nsp string, data json.RawMessage, attachments [][]byte, ackID *uint64, opts Opts) ([]byte, error) {
	if err := checkData(data, attachments, true); err != nil {
		return nil, err
	}
	w := getWriter()
	defer putWriter(w)
	w.arrayLen(3)
	w.str(uid)
	p := Packet{NSP: nsp, Data: data, Attachments: attachments, ID: ackID}
	if err := w.packet(&p); err != nil {
		return nil, err
	}
	writeOpts(w, &opts, true)
	return w.bytes(), nil
}

// checkData validates raw JSON given to an encoder: valid JSON (an array when array is set) and,
// when there are attachments, placeholders that all refer to one of them. Without attachments,
// placeholder-shaped objects are plain data (see doc.go).
func checkData(data json.RawMessage, atts [][]byte, array bool) error {
	if array && firstByte(data) != '[' {
		return invalid("data is not a JSON array")
	}
	err := socketio.CheckPlaceholders(data, len(atts)) // validates the JSON too, without allocating
	if err != nil && len(atts) == 0 && errors.Is(err, socketio.ErrPlaceholder) {
		// Placeholder-shaped objects without attachments are plain data; CheckPlaceholders
		// stopped at the first one, so validate the rest of the document another way.
		if json.Valid(data) {
			return nil
		}
		return invalid("data is not valid JSON")
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	return nil
}

// firstByte returns the first byte of raw JSON after whitespace, or 0.
func firstByte(raw []byte) byte {
	for _, c := range raw {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// packet writes {type: 2, data, nsp, id?}; p.Data was checked by the caller.
func (w *writer) packet(p *Packet) error {
	n := 3
	if p.ID != nil {
		n++
	}
	w.mapLen(n)
	w.str("type")
	w.uint(uint64(socketio.Event)) // the adapter broadcasts nothing else
	w.str("data")
	if err := w.jsonValue(p.Data, p.Attachments, len(p.Attachments) > 0); err != nil {
		return err
	}
	w.str("nsp")
	w.str(p.NSP)
	if p.ID != nil {
		w.str("id")
		w.uint(*p.ID)
	}
	return nil
}

// writeOpts writes {rooms, except} and, withFlags, flags.
func writeOpts(w fieldWriter, o *Opts, withFlags bool) {
	n := 2
	if withFlags {
		n++
	}
	w.mapLen(n)
	w.key("rooms")
	w.strs(o.Rooms)
	w.key("except")
	w.strs(o.Except)
	if withFlags {
		w.key("flags")
		writeFlags(w, &o.Flags)
	}
	w.endMap()
}

// writeFlags writes the flags that are set, in a fixed order.
func writeFlags(w fieldWriter, f *Flags) {
	n := 0
	for _, set := range [...]bool{f.Volatile, f.Compress != nil, f.Local, f.Broadcast, f.Binary != nil, f.Timeout != nil} {
		if set {
			n++
		}
	}
	w.mapLen(n)
	if f.Volatile {
		w.key("volatile")
		w.bool(true)
	}
	if f.Compress != nil {
		w.key("compress")
		w.bool(*f.Compress)
	}
	if f.Local {
		w.key("local")
		w.bool(true)
	}
	if f.Broadcast {
		w.key("broadcast")
		w.bool(true)
	}
	if f.Binary != nil {
		w.key("binary")
		w.bool(*f.Binary)
	}
	if f.Timeout != nil {
		w.key("timeout")
		w.int(int64(*f.Timeout))
	}
	w.endMap()
}

// DecodeBroadcast decodes a message received on a broadcast channel: the msgpack array [uid,
// packet, opts] of the adapter or of the emitter. Map keys may come in any order; unknown keys
// and array elements past the third are ignored; a missing packet nsp is "/", missing rooms,
// except and flags are empty. The packet data must be an array; its binary values become
// placeholders and Attachments (see doc.go for the whole mapping). The result does not alias b.
// Errors wrap ErrMalformed.
func DecodeBroadcast(b []byte) (Broadcast, error) {
	r := getReader(b)
	defer putReader(r)
	var m Broadcast
	n, ok, err := r.arrayLen("message")
	if err != nil {
		return m, err
	}
	if !ok || n < 3 {
		return m, malformed("message: want an array [uid, packet, opts]")
	}
	if m.UID, err = r.optString("uid"); err != nil {
		return m, err
	}
	if err = r.packet(&m.Packet); err != nil {
		return m, err
	}
	if ok, err = r.opts(&m.Opts); err != nil {
		return m, err
	}
	if !ok {
		return m, malformed("message: opts is nil")
	}
	for i := 3; i < n; i++ {
		if _, err := r.skip("message", 1); err != nil {
			return m, err
		}
	}
	return m, r.done()
}

// packet reads {type, data, nsp, id?}.
func (r *reader) packet(p *Packet) error {
	n, ok, err := r.mapLen("packet")
	if err != nil {
		return err
	}
	if !ok {
		return malformed("packet is nil")
	}
	p.NSP = "/"
	hasType, hasData, ph := false, false, r.phMaps
	var seen uint32
	for i := 0; i < n; i++ {
		key, ok, err := r.field("packet", &seen)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		switch string(key) {
		case "type":
			t, err := r.integer("packet type", 0, math.MaxUint8)
			if err != nil {
				return err
			}
			p.Type, hasType = socketio.Type(t), true
		case "data":
			if err := r.arrayValue("packet data", &p.Data, &p.Attachments); err != nil {
				return err
			}
			hasData = true
		case "nsp":
			b, err := r.strBytes("packet nsp")
			if err != nil {
				return err
			}
			p.NSP = text(b)
		case "id":
			if r.nextIsNil() {
				continue
			}
			id, err := r.integer("packet id", 0, math.MaxInt64)
			if err != nil {
				return err
			}
			u := uint64(id)
			p.ID = &u
		default:
			if _, err := r.skip("packet", 1); err != nil {
				return err
			}
		}
	}
	if !hasType || !hasData {
		return malformed("packet without type or data")
	}
	return r.checkPlaceholderMaps(ph, p.Attachments)
}

// opts reads {rooms, except, flags} (flags only matter to broadcasts); ok is false for nil.
func (r *reader) opts(o *Opts) (ok bool, err error) {
	n, ok, err := r.mapLen("opts")
	if err != nil || !ok {
		return false, err
	}
	var seen uint32
	for i := 0; i < n; i++ {
		key, ok, err := r.field("opts", &seen)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		switch string(key) {
		case "rooms":
			o.Rooms, err = r.rooms("opts rooms")
		case "except":
			o.Except, err = r.rooms("opts except")
		case "flags":
			err = r.flags(&o.Flags)
		default:
			_, err = r.skip("opts", 1)
		}
		if err != nil {
			return false, err
		}
	}
	if o.Rooms == nil { // always written: absent and empty read alike
		o.Rooms = []string{}
	}
	if o.Except == nil {
		o.Except = []string{}
	}
	return true, nil
}

// flags reads the flags map; unknown flags are ignored, nil is no flags.
func (r *reader) flags(f *Flags) error {
	n, _, err := r.mapLen("flags")
	if err != nil {
		return err
	}
	var seen uint32
	for i := 0; i < n; i++ {
		key, ok, err := r.field("flags", &seen)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		var v, set bool
		switch string(key) {
		case "volatile":
			f.Volatile, _, err = r.truthy("volatile")
		case "compress":
			if v, set, err = r.truthy("compress"); set {
				f.Compress = &v
			}
		case "local":
			f.Local, _, err = r.truthy("local")
		case "broadcast":
			f.Broadcast, _, err = r.truthy("broadcast")
		case "binary":
			if v, set, err = r.truthy("binary"); set {
				f.Binary = &v
			}
		case "timeout":
			if r.nextIsNil() {
				continue
			}
			var t int64
			if t, err = r.millis("timeout"); err == nil {
				ti := int(t)
				f.Timeout = &ti
			}
		default:
			_, err = r.skip("flags", 1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
