package wire

import (
	"encoding/json"
	"fmt"
	"math"
)

// DecodeRequest decodes a message of the request channel. Like the reference adapter it tells
// the encodings apart by the first byte: '{' is JSON, anything else msgpack. Keys may come in any
// order and unknown keys are ignored; type is mandatory. Binary values of a msgpack request
// become placeholders: those of the BROADCAST packet in Packet.Attachments, the others in
// Attachments. The result does not alias b. Errors wrap ErrMalformed.
func DecodeRequest(b []byte) (Request, error) {
	var q Request
	r, release, err := openMessage(b)
	if err != nil {
		return q, err
	}
	defer release()
	n, ok, err := r.mapLen("request")
	if err != nil {
		return q, err
	}
	if !ok {
		return q, malformed("request is nil")
	}
	hasType, dataPH := false, 0
	var seen uint32
	for i := 0; i < n; i++ {
		key, ok, err := r.field("request", &seen)
		if err != nil {
			return q, err
		}
		if !ok {
			continue
		}
		switch string(key) {
		case "uid":
			q.UID, err = r.optString("uid")
		case "requestId":
			q.RequestID, err = r.optString("requestId")
		case "type":
			var t int64
			t, err = r.integer("type", 0, math.MaxInt32)
			q.Type, hasType = RequestType(t), true
		case "opts":
			o := new(Opts)
			if ok, err = r.opts(o); ok {
				q.Opts = o
			}
		case "rooms":
			q.Rooms, err = r.rooms("rooms")
		case "close":
			q.Close, _, err = r.truthy("close")
		case "data":
			before := r.phMaps
			q.Data, _, err = r.rawValue(&q.Attachments)
			dataPH += r.phMaps - before
		case "packet":
			if r.nextIsNil() {
				continue
			}
			p := new(Packet)
			if err = r.packet(p); err == nil {
				q.Packet = p
			}
		case "sid":
			q.SID, err = r.optString("sid")
		case "room":
			if !r.nextIsNil() {
				q.Room, err = r.room("room")
			}
		default:
			_, err = r.skip("request", 1)
		}
		if err != nil {
			return q, err
		}
	}
	if !hasType {
		return q, malformed("request without type")
	}
	if err := checkRequestShape(&q, ErrMalformed); err != nil {
		return q, err
	}
	if err := r.checkPlaceholderMaps(r.phMaps-dataPH, q.Attachments); err != nil {
		return q, err
	}
	if q.Rooms == nil && roomsAlways(&q) {
		q.Rooms = []string{} // EncodeRequest writes them: absent and empty read alike
	}
	return q, r.done()
}

// DecodeResponse decodes a message of the response channels, JSON or msgpack (by the first byte,
// as DecodeRequest). A "sockets" list of strings fills SocketIDs (SOCKETS), one of objects fills
// Sockets (REMOTE_FETCH). Binary values of a msgpack response become placeholders indexing
// Attachments. The result does not alias b. Errors wrap ErrMalformed.
func DecodeResponse(b []byte) (Response, error) {
	var s Response
	r, release, err := openMessage(b)
	if err != nil {
		return s, err
	}
	defer release()
	n, ok, err := r.mapLen("response")
	if err != nil {
		return s, err
	}
	if !ok {
		return s, malformed("response is nil")
	}
	var seen uint32
	for i := 0; i < n; i++ {
		key, ok, err := r.field("response", &seen)
		if err != nil {
			return s, err
		}
		if !ok {
			continue
		}
		switch string(key) {
		case "type":
			var t int64
			t, err = r.integer("type", 0, math.MaxInt32)
			s.Type = RequestType(t)
		case "requestId":
			s.RequestID, err = r.optString("requestId")
		case "uid":
			s.UID, err = r.optString("uid")
		case "matched":
			var m int64
			if m, err = r.integer("matched", 0, math.MaxInt32); err == nil {
				mi := int(m)
				s.Matched = &mi
			}
		case "sockets":
			err = r.sockets(&s)
		case "rooms":
			s.Rooms, err = r.rooms("rooms")
		case "clientCount":
			var c int64
			c, err = r.integer("clientCount", 0, math.MaxInt32)
			s.ClientCount = int(c)
		case "data":
			s.Data, _, err = r.rawValue(&s.Attachments)
		case "packet":
			s.Packet, _, err = r.rawValue(&s.Attachments)
		default:
			_, err = r.skip("response", 1)
		}
		if err != nil {
			return s, err
		}
	}
	if err := r.checkPlaceholderMaps(0, s.Attachments); err != nil {
		return s, err
	}
	return s, r.done()
}

// openMessage returns a reader over a request or response. JSON is converted to msgpack first,
// so that both encodings go through the same decoder (and JSON keys are matched exactly, as
// JSON.parse does, not case-insensitively as encoding/json would).
func openMessage(b []byte) (r *reader, release func(), err error) {
	if len(b) == 0 {
		return nil, nil, malformed("empty message")
	}
	if b[0] != '{' {
		r = getReader(b)
		return r, func() { putReader(r) }, nil
	}
	if !json.Valid(b) {
		return nil, nil, malformed("invalid JSON")
	}
	w := getWriter()
	if err := w.jsonValue(b, nil, false); err != nil {
		putWriter(w)
		return nil, nil, malformed("%v", err)
	}
	r = getReader(w.buf.Bytes())
	return r, func() { putReader(r); putWriter(w) }, nil
}

// sockets reads a "sockets" list: ids, or {id, handshake, rooms, data} objects.
func (r *reader) sockets(s *Response) error {
	n, ok, err := r.arrayLen("sockets")
	if err != nil || !ok {
		return err
	}
	if n == 0 {
		s.Sockets = []SocketInfo{}
		return nil
	}
	for i := 0; i < n; i++ {
		c, err := r.peek()
		if err != nil {
			return err
		}
		if !isMapCode(c) {
			id, err := r.strBytes("socket id")
			if err != nil {
				return err
			}
			if s.Sockets != nil {
				return malformed("sockets: ids and objects mixed")
			}
			s.SocketIDs = append(s.SocketIDs, text(id))
			continue
		}
		if s.SocketIDs != nil {
			return malformed("sockets: ids and objects mixed")
		}
		var si SocketInfo
		if err := r.socket(&si, &s.Attachments); err != nil {
			return err
		}
		s.Sockets = append(s.Sockets, si)
	}
	return nil
}

func (r *reader) socket(si *SocketInfo, atts *[][]byte) error {
	n, _, err := r.mapLen("socket")
	if err != nil {
		return err
	}
	var seen uint32
	for i := 0; i < n; i++ {
		key, ok, err := r.field("socket", &seen)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		switch string(key) {
		case "id":
			si.ID, err = r.optString("socket id")
		case "handshake":
			si.Handshake, _, err = r.rawValue(atts)
		case "rooms":
			si.Rooms, err = r.rooms("socket rooms")
		case "data":
			si.Data, _, err = r.rawValue(atts)
		case "user":
			si.User, err = r.optString("socket user")
		default:
			_, err = r.skip("socket", 1)
		}
		if err != nil {
			return err
		}
	}
	if si.Rooms == nil {
		si.Rooms = []string{} // always written: absent and empty read alike
	}
	return nil
}

// EncodeRequest encodes q in the encoding the reference adapter uses for its type: msgpack for
// BROADCAST, JSON for the others — unless q carries Attachments or a Packet, which only msgpack
// carries (Node peers accept either encoding for every type). Keys are
// written in the reference order uid, requestId, type, packet, opts, rooms, close, data, sid,
// room: uid, requestId, sid and room when not empty; packet, opts and data when not nil (opts
// with flags for BROADCAST, or when some flag is set); rooms when not nil and always for SOCKETS
// and for REMOTE_JOIN/LEAVE with opts; close for REMOTE_DISCONNECT (or when true). The packet's
// type is written as 2. Errors wrap ErrInvalidData.
func EncodeRequest(q *Request) ([]byte, error) {
	if err := checkRequestShape(q, ErrInvalidData); err != nil {
		return nil, err
	}
	binary := q.Type == BroadcastRequest || q.Packet != nil || len(q.Attachments) > 0
	if q.Packet != nil {
		if err := checkData(q.Packet.Data, q.Packet.Attachments, true); err != nil {
			return nil, err
		}
	}
	if binary {
		w := getWriter()
		defer putWriter(w)
		if err := writeRequest(w, q); err != nil {
			return nil, err
		}
		return w.bytes(), nil
	}
	w := jsonWriter{buf: make([]byte, 0, 128+len(q.Data))}
	if err := writeRequest(&w, q); err != nil {
		return nil, err
	}
	return w.buf, nil
}

// checkRequestShape refuses what a Node peer would throw on: a BROADCAST without packet, a
// SERVER_SIDE_EMIT whose data is not an array. The error wraps sentinel.
func checkRequestShape(q *Request, sentinel error) error {
	switch {
	case q.Type == BroadcastRequest && q.Packet == nil:
		return fmt.Errorf("%w: BROADCAST request without packet", sentinel)
	case q.Type == ServerSideEmit && firstByte(q.Data) != '[':
		return fmt.Errorf("%w: SERVER_SIDE_EMIT data is not an array", sentinel)
	}
	return nil
}

// roomsAlways reports whether a request of q's shape always carries "rooms": SOCKETS, and
// REMOTE_JOIN/LEAVE in their opts form.
func roomsAlways(q *Request) bool {
	return q.Type == Sockets || (q.Type == RemoteJoin || q.Type == RemoteLeave) && q.Opts != nil
}

func writeRequest(w fieldWriter, q *Request) error {
	has := [...]bool{
		q.UID != "",
		q.RequestID != "",
		true,
		q.Packet != nil,
		q.Opts != nil,
		q.Rooms != nil || roomsAlways(q),
		q.Type == RemoteDisconnect || q.Close,
		q.Data != nil,
		q.SID != "",
		q.Room != "",
	}
	n := 0
	for _, h := range has {
		if h {
			n++
		}
	}
	w.mapLen(n)
	if has[0] {
		w.key("uid")
		w.str(q.UID)
	}
	if has[1] {
		w.key("requestId")
		w.str(q.RequestID)
	}
	w.key("type")
	w.int(int64(q.Type))
	if has[3] {
		w.key("packet")
		if err := w.packet(q.Packet); err != nil {
			return err
		}
	}
	if has[4] {
		w.key("opts")
		writeOpts(w, q.Opts, q.Type == BroadcastRequest || q.Opts.Flags != (Flags{}))
	}
	if has[5] {
		w.key("rooms")
		w.strs(q.Rooms)
	}
	if has[6] {
		w.key("close")
		w.bool(q.Close)
	}
	if has[7] {
		w.key("data")
		if err := w.raw(q.Data, q.Attachments); err != nil {
			return err
		}
	}
	if has[8] {
		w.key("sid")
		w.str(q.SID)
	}
	if has[9] {
		w.key("room")
		w.str(q.Room)
	}
	w.endMap()
	return nil
}

// EncodeResponse encodes s in the encoding the reference adapter uses: msgpack for BROADCAST_ACK,
// JSON for the others — unless s carries Attachments, which only msgpack can carry. Keys are
// written in the reference order type (when not zero), requestId, uid (when not empty), sockets
// (Sockets when not nil, else SocketIDs when not nil), rooms (when not nil), clientCount
// (BROADCAST_CLIENT_COUNT, or when not 0), matched (when not nil), data and packet (when not
// nil). Errors wrap ErrInvalidData.
func EncodeResponse(s *Response) ([]byte, error) {
	if s.Sockets != nil && s.SocketIDs != nil {
		return nil, invalid("a response has Sockets or SocketIDs, not both")
	}
	if s.Type == BroadcastAck || len(s.Attachments) > 0 {
		w := getWriter()
		defer putWriter(w)
		if err := writeResponse(w, s); err != nil {
			return nil, err
		}
		return w.bytes(), nil
	}
	w := jsonWriter{buf: make([]byte, 0, 128+len(s.Data)+len(s.Packet))}
	if err := writeResponse(&w, s); err != nil {
		return nil, err
	}
	return w.buf, nil
}

func writeResponse(w fieldWriter, s *Response) error {
	has := [...]bool{
		s.Type != 0,
		true,
		s.UID != "",
		s.Sockets != nil || s.SocketIDs != nil,
		s.Rooms != nil,
		s.Type == BroadcastClientCount || s.ClientCount != 0,
		s.Matched != nil,
		s.Data != nil,
		s.Packet != nil,
	}
	n := 0
	for _, h := range has {
		if h {
			n++
		}
	}
	w.mapLen(n)
	if has[0] {
		w.key("type")
		w.int(int64(s.Type))
	}
	w.key("requestId")
	w.str(s.RequestID)
	if has[2] {
		w.key("uid")
		w.str(s.UID)
	}
	if has[3] {
		w.key("sockets")
		if err := writeSockets(w, s); err != nil {
			return err
		}
	}
	if has[4] {
		w.key("rooms")
		w.strs(s.Rooms)
	}
	if has[5] {
		w.key("clientCount")
		w.int(int64(s.ClientCount))
	}
	if has[6] {
		w.key("matched")
		w.int(int64(*s.Matched))
	}
	if has[7] {
		w.key("data")
		if err := w.raw(s.Data, s.Attachments); err != nil {
			return err
		}
	}
	if has[8] {
		w.key("packet")
		if err := w.raw(s.Packet, s.Attachments); err != nil {
			return err
		}
	}
	w.endMap()
	return nil
}

func writeSockets(w fieldWriter, s *Response) error {
	if s.Sockets == nil {
		w.strs(s.SocketIDs)
		return nil
	}
	w.arrayLen(len(s.Sockets))
	for i := range s.Sockets {
		si := &s.Sockets[i]
		n := 2
		if si.Handshake != nil {
			n++
		}
		if si.Data != nil {
			n++
		}
		if si.User != "" {
			n++
		}
		w.mapLen(n)
		w.key("id")
		w.str(si.ID)
		if si.Handshake != nil {
			w.key("handshake")
			if err := w.raw(si.Handshake, s.Attachments); err != nil {
				return err
			}
		}
		w.key("rooms")
		w.strs(si.Rooms)
		if si.Data != nil {
			w.key("data")
			if err := w.raw(si.Data, s.Attachments); err != nil {
				return err
			}
		}
		if si.User != "" {
			w.key("user")
			w.str(si.User)
		}
		w.endMap()
	}
	w.endArray()
	return nil
}
