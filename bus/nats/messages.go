package nats

import (
	"encoding/json"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
)

// Cluster request operations.
const (
	opSockets      = 1 // selector → sockets
	opRooms        = 2 // → rooms
	opJoin         = 3 // selector, rooms → matched
	opLeave        = 4 // selector, rooms → matched
	opDisconnect   = 5 // selector, close → matched
	opEmit         = 6 // message → message (when a reply is wanted)
	opBroadcastAck = 7 // broadcast, timeout → count, ack…
)

// Reply parts.
const (
	partResult = 1 // the node's whole answer
	partNone   = 2 // answered with nothing (e.g. no handler replied, unknown namespace)
	partCount  = 3 // broadcast with acks: the number of clients reached
	partAck    = 4 // broadcast with acks: one client's answer
	partMore   = 5 // a list answer too large for one message: this piece, more follow (the last is partResult)
)

// Heartbeat flags.
const (
	hbHello = 1 // a new node asks the others to answer with their heartbeat
	hbBye   = 2 // the node leaves
)

// request is a cluster request as decoded by a responder.
type request struct {
	node    string // requesting node
	inst    uint64 // requesting instance
	id      uint64 // request id, 0 when no reply is wanted
	op      byte
	sel     bus.Selector
	rooms   []string
	close   bool
	msg     bus.Message   // opEmit
	bc      bus.Broadcast // opBroadcastAck
	timeout time.Duration // opBroadcastAck
}

// appendRequest encodes q:
//
//	version kind=2 instance:8 node reqID op payload
func appendRequest(dst []byte, inst uint64, q *request) []byte {
	dst = appendHeader(dst, kindRequest, inst)
	dst = appendString(dst, q.node)
	dst = appendUvarint(dst, q.id)
	dst = append(dst, q.op)
	switch q.op {
	case opSockets:
		dst = appendSelector(dst, &q.sel)
	case opJoin, opLeave:
		dst = appendSelector(dst, &q.sel)
		dst = appendStrings(dst, q.rooms)
	case opDisconnect:
		dst = appendSelector(dst, &q.sel)
		var c byte
		if q.close {
			c = 1
		}
		dst = append(dst, c)
	case opEmit:
		dst = appendMessage(dst, &q.msg)
	case opBroadcastAck:
		var flags byte
		if q.bc.Volatile {
			flags = flagVolatile
		}
		dst = append(dst, flags)
		dst = appendSelector(dst, &q.bc.Selector)
		dst = appendMessage(dst, &q.bc.Message)
		dst = appendUvarint(dst, uint64(q.timeout/time.Millisecond))
	}
	return dst
}

func decodeRequest(data []byte) (*request, error) {
	kind, inst, err := peekHeader(data)
	if err != nil {
		return nil, err
	}
	if kind != kindRequest {
		return nil, errKind
	}
	r := reader{b: data[headerLen:]}
	q := &request{inst: inst}
	q.node = r.string()
	q.id = r.uvarint()
	q.op = r.byte()
	switch q.op {
	case opSockets:
		r.selector(&q.sel)
	case opRooms:
	case opJoin, opLeave:
		r.selector(&q.sel)
		q.rooms = r.strings()
	case opDisconnect:
		r.selector(&q.sel)
		q.close = r.byte() != 0
	case opEmit:
		r.message(&q.msg)
	case opBroadcastAck:
		q.bc.Volatile = r.byte()&flagVolatile != 0
		r.selector(&q.bc.Selector)
		r.message(&q.bc.Message)
		ms := r.uvarint()
		if ms > uint64(24*time.Hour/time.Millisecond) {
			ms = uint64(24 * time.Hour / time.Millisecond)
		}
		q.timeout = time.Duration(ms) * time.Millisecond
	default:
		if r.err == nil {
			return nil, errKind
		}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return q, nil
}

// reply is one part of a node's answer to a request.
type reply struct {
	node    string // answering node
	inst    uint64 // answering instance
	target  uint64 // requesting instance
	id      uint64 // request id
	part    byte
	payload []byte // part- and op-specific, decoded by the requester
}

// appendReplyHeader starts a reply; the caller appends the payload:
//
//	version kind=3 instance:8 node target:8 reqID part payload
func appendReplyHeader(dst []byte, inst uint64, node string, target, id uint64, part byte) []byte {
	dst = appendHeader(dst, kindReply, inst)
	dst = appendString(dst, node)
	dst = appendUvarint(dst, target)
	dst = appendUvarint(dst, id)
	return append(dst, part)
}

func decodeReply(data []byte) (*reply, error) {
	kind, inst, err := peekHeader(data)
	if err != nil {
		return nil, err
	}
	if kind != kindReply {
		return nil, errKind
	}
	r := reader{b: data[headerLen:]}
	p := &reply{inst: inst}
	p.node = r.string()
	p.target = r.uvarint()
	p.id = r.uvarint()
	p.part = r.byte()
	if r.err != nil {
		return nil, r.err
	}
	if p.part < partResult || p.part > partMore {
		return nil, errKind
	}
	p.payload = r.b
	return p, nil
}

func appendSockets(dst []byte, socks []bus.SocketInfo) []byte {
	dst = appendUvarint(dst, uint64(len(socks)))
	for i := range socks {
		s := &socks[i]
		dst = appendString(dst, s.ID)
		dst = appendString(dst, s.Node)
		dst = appendStrings(dst, s.Rooms)
		dst = appendNullable(dst, s.Data)
		dst = appendString(dst, s.User)
		dst = appendNullable(dst, s.Handshake)
	}
	return dst
}

func decodeSockets(b []byte) ([]bus.SocketInfo, error) {
	r := reader{b: b}
	n := r.count()
	if n == 0 {
		return nil, r.end()
	}
	out := make([]bus.SocketInfo, n)
	for i := range out {
		s := &out[i]
		s.ID = r.string()
		s.Node = r.string()
		s.Rooms = r.strings()
		if d := r.nullable(); d != nil {
			s.Data = json.RawMessage(d)
		}
		s.User = r.string()
		if h := r.nullable(); h != nil {
			s.Handshake = json.RawMessage(h)
		}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return out, nil
}

func decodeStrings(b []byte) ([]string, error) {
	r := reader{b: b}
	ss := r.strings()
	return ss, r.end()
}

func decodeUvarint(b []byte) (uint64, error) {
	r := reader{b: b}
	v := r.uvarint()
	return v, r.end()
}

func decodeMessage(b []byte) (bus.Message, error) {
	r := reader{b: b}
	var m bus.Message
	r.message(&m)
	return m, r.end()
}

// appendNodeMsg encodes a heartbeat (with flags), ping or pong:
//
//	version kind instance:8 node [flags]
func appendNodeMsg(dst []byte, kind byte, inst uint64, node string, flags byte) []byte {
	dst = appendHeader(dst, kind, inst)
	dst = appendString(dst, node)
	if kind == kindHeartbeat {
		dst = append(dst, flags)
	}
	return dst
}

// decodeNodeMsg decodes what appendNodeMsg wrote.
func decodeNodeMsg(data []byte) (kind byte, inst uint64, node string, flags byte, err error) {
	kind, inst, err = peekHeader(data)
	if err != nil {
		return 0, 0, "", 0, err
	}
	if kind != kindHeartbeat && kind != kindPing && kind != kindPong {
		return 0, 0, "", 0, errKind
	}
	r := reader{b: data[headerLen:]}
	node = r.string()
	if kind == kindHeartbeat {
		flags = r.byte()
	}
	if err := r.end(); err != nil {
		return 0, 0, "", 0, err
	}
	if node == "" {
		return 0, 0, "", 0, errMalformed
	}
	return kind, inst, node, flags, nil
}
