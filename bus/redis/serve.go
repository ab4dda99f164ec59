package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/bus/redis/wire"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// onRequest answers a message of the request channel, from Node servers, Switchboard nodes or
// the emitter. Each request is answered exactly once, on the common response channel (where
// Node requesters listen by default). Our own requests come back too: they are skipped.
func (n *namespace) onRequest(payload string) {
	if n.closed.Load() {
		return
	}
	a := n.a
	if len(payload) > a.cfg.MaxMessageBytes {
		a.drop(ReasonTooLarge, "request over MaxMessageBytes", "nsp", n.name, "bytes", len(payload))
		return
	}
	q, err := wire.DecodeRequest(bytesOf(payload))
	if err != nil {
		a.drop(ReasonMalformed, err.Error(), "nsp", n.name, "kind", KindRequest)
		return
	}
	self := q.UID == a.id
	switch q.Type {
	case wire.Sockets, wire.AllRooms, wire.RemoteFetch:
		if self || n.pending(q.RequestID) {
			return
		}
		n.serveQuery(&q)
	case wire.RemoteJoin, wire.RemoteLeave, wire.RemoteDisconnect:
		// The requesting edge applied the operation to its own sockets already; a Node server
		// applies its own when it comes back, and the emitter sends no uid.
		if !self {
			n.serveRooms(&q)
		}
	case wire.ServerSideEmit:
		if !self {
			n.serveEmit(&q)
		}
	case wire.BroadcastRequest:
		if !self {
			n.serveBroadcast(&q)
		}
	default:
		a.drop(ReasonUnknownType, "request type not handled", "nsp", n.name, "type", int(q.Type))
	}
}

// serveQuery answers SOCKETS, ALL_ROOMS and REMOTE_FETCH.
func (n *namespace) serveQuery(q *wire.Request) {
	if q.RequestID == "" {
		n.a.drop(ReasonMalformed, q.Type.String()+" request without requestId", "nsp", n.name)
		return
	}
	r := wire.Response{RequestID: q.RequestID, UID: n.a.id}
	switch q.Type {
	case wire.Sockets:
		r.SocketIDs = []string{}
		for _, s := range n.local.Sockets(bus.Selector{Rooms: q.Rooms}) {
			r.SocketIDs = append(r.SocketIDs, s.ID)
		}
	case wire.AllRooms:
		r.Rooms = n.local.Rooms()
		if r.Rooms == nil {
			r.Rooms = []string{}
		}
	case wire.RemoteFetch:
		if q.Opts == nil {
			n.a.drop(ReasonMalformed, "REMOTE_FETCH request without opts", "nsp", n.name)
			return
		}
		r.Sockets = toWireSockets(n.local.Sockets(bus.Selector{Rooms: q.Opts.Rooms, Except: q.Opts.Except}))
	}
	n.respond(&r)
}

// serveRooms applies REMOTE_JOIN, REMOTE_LEAVE and REMOTE_DISCONNECT. The opts form is
// answered only when it carries a requestId (a Switchboard requester wanting the matched
// count); the legacy one-socket form is answered when the socket is here, as Node does.
func (n *namespace) serveRooms(q *wire.Request) {
	l := n.local
	if q.Opts == nil {
		if q.SID == "" || (q.Type != wire.RemoteDisconnect && q.Room == "") {
			n.a.drop(ReasonMalformed, q.Type.String()+" request without opts nor sid and room", "nsp", n.name)
			return
		}
		sel := bus.Selector{Rooms: []string{q.SID}}
		matched := 0
		switch q.Type {
		case wire.RemoteJoin:
			matched = l.Join(sel, []string{q.Room})
		case wire.RemoteLeave:
			matched = l.Leave(sel, []string{q.Room})
		default:
			matched = l.Disconnect(sel, q.Close)
		}
		if matched > 0 && q.RequestID != "" {
			n.respond(&wire.Response{RequestID: q.RequestID})
		}
		return
	}
	sel := bus.Selector{Rooms: q.Opts.Rooms, Except: q.Opts.Except}
	matched := 0
	switch q.Type {
	case wire.RemoteJoin:
		matched = l.Join(sel, q.Rooms)
	case wire.RemoteLeave:
		matched = l.Leave(sel, q.Rooms)
	default:
		matched = l.Disconnect(sel, q.Close)
	}
	if q.RequestID != "" {
		matched = max(matched, 0)
		n.respond(&wire.Response{RequestID: q.RequestID, UID: n.a.id, Matched: &matched})
	}
}

// serveEmit hands a server-side emit to Local; with a requestId, the first reply is answered
// (with its first argument, as Node does).
func (n *namespace) serveEmit(q *wire.Request) {
	m := bus.Message{Data: q.Data, Attachments: q.Attachments}
	if q.RequestID == "" {
		n.local.ServerSideEmit(m, nil)
		return
	}
	id := q.RequestID
	var once atomic.Bool
	n.local.ServerSideEmit(m, func(r bus.Message) {
		if !once.CompareAndSwap(false, true) {
			return
		}
		defer n.a.recoverPanic("server-side emit reply")
		data, atts := firstArg(r)
		n.respond(&wire.Response{Type: wire.ServerSideEmit, RequestID: id, UID: n.a.id, Data: data, Attachments: atts})
	})
}

// serveBroadcast delivers a BROADCAST request to Local and answers its client count (always,
// even 0: Node requesters wait for one count per server) and then each client's ack.
func (n *namespace) serveBroadcast(q *wire.Request) {
	a := n.a
	switch {
	case q.Packet == nil || q.Opts == nil || q.RequestID == "":
		a.drop(ReasonMalformed, "BROADCAST request without packet, opts or requestId", "nsp", n.name)
		return
	case q.Packet.NSP != n.name:
		a.drop(ReasonUnknownNamespace, "BROADCAST packet of another namespace", "nsp", n.name, "packet_nsp", q.Packet.NSP)
		return
	}
	timeout := a.cfg.RequestTimeout
	if t := q.Opts.Flags.Timeout; t != nil {
		timeout = time.Duration(*t) * time.Millisecond
	}
	relay := &ackRelay{n: n, id: q.RequestID}
	count := n.local.BroadcastWithAck(&bus.Broadcast{
		Selector: bus.Selector{Rooms: q.Opts.Rooms, Except: q.Opts.Except},
		Message:  bus.Message{Data: q.Packet.Data, Attachments: q.Packet.Attachments},
		Volatile: q.Opts.Flags.Volatile,
	}, timeout, relay.ack)
	relay.counted(count)
}

// ackRelay publishes the answers to a BROADCAST request in order: the client count first, then
// the acks, even those that come before BroadcastWithAck returns.
type ackRelay struct {
	n  *namespace
	id string

	mu    sync.Mutex
	sent  bool          // the count is queued
	early []bus.Message // acks received before it
}

func (r *ackRelay) counted(count int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n.respond(&wire.Response{Type: wire.BroadcastClientCount, RequestID: r.id, UID: r.n.a.id, ClientCount: max(count, 0)})
	for _, m := range r.early {
		r.respondAck(m)
	}
	r.sent, r.early = true, nil
}

func (r *ackRelay) ack(m bus.Message) {
	defer r.n.a.recoverPanic("broadcast ack")
	r.mu.Lock()
	if !r.sent {
		r.early = append(r.early, m)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.respondAck(m)
}

func (r *ackRelay) respondAck(m bus.Message) {
	data, atts := firstArg(m)
	r.n.respond(&wire.Response{Type: wire.BroadcastAck, RequestID: r.id, Packet: data, Attachments: atts})
}

// respond queues an answer on the common response channel.
func (n *namespace) respond(r *wire.Response) {
	a := n.a
	b, err := wire.EncodeResponse(r)
	if err != nil {
		a.drop(ReasonMalformed, "cannot encode an answer: "+err.Error(), "nsp", n.name, "kind", KindResponse)
		return
	}
	if len(b) > a.cfg.MaxMessageBytes {
		a.drop(ReasonTooLarge, "answer over MaxMessageBytes", "nsp", n.name, "bytes", len(b))
		return
	}
	_ = a.out.enqueue(noWait, outMsg{channel: n.respCh, payload: b, kind: KindResponse})
}

// noWait is a done context: answers are queued without waiting for room (the subscriber
// goroutine must not block).
var noWait = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

var placeholderKey = []byte(`"_placeholder"`)

// firstArg returns the first element of the JSON array m.Data (nil when there is none: the
// answer then has no data, as JavaScript's undefined), with the attachments when it refers to
// some.
func firstArg(m bus.Message) (json.RawMessage, [][]byte) {
	var buf [4][]byte
	elems, err := socketio.SplitArray(buf[:0], m.Data)
	if err != nil || len(elems) == 0 {
		return nil, nil
	}
	first := elems[0]
	if len(m.Attachments) > 0 && bytes.Contains(first, placeholderKey) {
		return first, m.Attachments
	}
	return first, nil
}

// wrapArg returns the JSON array of the ack arguments of an answer carrying one argument
// (none when v is nil).
func wrapArg(v json.RawMessage) json.RawMessage {
	if v == nil {
		return json.RawMessage("[]")
	}
	out := make([]byte, 0, len(v)+2)
	out = append(out, '[')
	out = append(out, v...)
	return append(out, ']')
}

func toWireSockets(ss []bus.SocketInfo) []wire.SocketInfo {
	out := make([]wire.SocketInfo, len(ss))
	for i, s := range ss {
		out[i] = wire.SocketInfo{ID: s.ID, Handshake: s.Handshake, Rooms: s.Rooms, Data: s.Data, User: s.User}
		if out[i].Rooms == nil {
			out[i].Rooms = []string{}
		}
		if out[i].Handshake == nil {
			out[i].Handshake = json.RawMessage("{}") // Node code reads socket.handshake.*
		}
	}
	return out
}

func fromWireSockets(dst []bus.SocketInfo, node string, ss []wire.SocketInfo) []bus.SocketInfo {
	for _, s := range ss {
		data := s.Data
		if data == nil {
			data = json.RawMessage("null")
		}
		dst = append(dst, bus.SocketInfo{ID: s.ID, Node: node, Rooms: s.Rooms, Data: data, User: s.User, Handshake: s.Handshake})
	}
	return dst
}
