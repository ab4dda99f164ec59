package nats

import (
	"sync/atomic"

	natsgo "github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/bus"
)

// serveLoop answers the other nodes' cluster requests, one at a time.
func (a *Adapter) serveLoop() {
	defer a.wg.Done()
	for {
		select {
		case <-a.done:
			return
		case m := <-a.reqCh:
			a.serve(m)
		}
	}
}

func (a *Adapter) serve(m *natsgo.Msg) {
	if a.oversize(m) {
		return
	}
	if _, inst, err := peekHeader(m.Data); err == nil && inst == a.inst {
		return // our own request
	}
	q, err := decodeRequest(m.Data)
	if err != nil {
		a.dropDecode(err, m)
		return
	}
	nsTok, ok := a.subj.requestNamespace(m.Subject)
	if !ok || (q.id != 0 && m.Reply == "") {
		a.drop(DropMalformed, "bus/nats: request without namespace or reply subject", "subject", m.Subject)
		return
	}
	a.met.Received(KindRequest, len(m.Data))
	r := responder{a: a, to: m.Reply, q: q}
	ns := a.lookup(nsTok)
	if ns == nil {
		// A node without the namespace has no sockets there: it answers
		// at once rather than leave the requester waiting.
		a.log.Debug("bus/nats: request for a namespace not attached", "subject", m.Subject)
		r.empty()
		return
	}
	r.ns = ns
	r.run()
}

// responder answers one request.
type responder struct {
	a  *Adapter
	ns *namespace
	to string
	q  *request
}

func (r *responder) run() {
	q, local := r.q, r.ns.local
	switch q.op {
	case opSockets:
		var socks []bus.SocketInfo
		if r.ns.invoke("Sockets", func() { socks = local.Sockets(q.sel) }) {
			sendList(r, socks, appendSockets, true)
		}
	case opRooms:
		var rooms []string
		if r.ns.invoke("Rooms", func() { rooms = local.Rooms() }) {
			sendList(r, rooms, appendStrings, true)
		}
	case opJoin, opLeave, opDisconnect:
		var n int
		ok := r.ns.invoke("Join/Leave/Disconnect", func() {
			switch q.op {
			case opJoin:
				n = local.Join(q.sel, q.rooms)
			case opLeave:
				n = local.Leave(q.sel, q.rooms)
			default:
				n = local.Disconnect(q.sel, q.close)
			}
		})
		if ok && q.id != 0 {
			r.sendCount(partResult, n)
		}
	case opEmit:
		var reply func(bus.Message)
		if q.id != 0 {
			var once atomic.Bool
			reply = func(msg bus.Message) {
				if once.CompareAndSwap(false, true) {
					r.send(partResult, func(dst []byte) []byte { return appendMessage(dst, &msg) })
				}
			}
		}
		r.ns.invoke("ServerSideEmit", func() { local.ServerSideEmit(q.msg, reply) })
	case opBroadcastAck:
		var n int
		ack := func(msg bus.Message) {
			r.send(partAck, func(dst []byte) []byte { return appendMessage(dst, &msg) })
		}
		if r.ns.invoke("BroadcastWithAck", func() { n = local.BroadcastWithAck(&q.bc, q.timeout, ack) }) {
			r.sendCount(partCount, n)
		}
	}
}

// empty answers as a node without sockets in the namespace.
func (r *responder) empty() {
	switch r.q.op {
	case opSockets, opRooms:
		r.sendCount(partResult, 0) // an empty list
	case opJoin, opLeave, opDisconnect:
		if r.q.id != 0 {
			r.sendCount(partResult, 0)
		}
	case opEmit:
		if r.q.id != 0 {
			r.send(partNone, nil)
		}
	case opBroadcastAck:
		r.sendCount(partCount, 0)
	}
}

// sendList answers with list, in as many messages as the size limit needs:
// a list that does not fit is halved until the pieces do, each sent as
// partMore but the very last (last), sent as partResult. Only an element
// too large on its own is not sent (logged, counted as oversize).
func sendList[T any](r *responder, list []T, enc func([]byte, []T) []byte, last bool) {
	part := byte(partMore)
	if last {
		part = partResult
	}
	if len(list) > 1 && r.size(func(dst []byte) []byte { return enc(dst, list) }) > r.a.maxBytes() {
		half := len(list) / 2
		sendList(r, list[:half], enc, false)
		sendList(r, list[half:], enc, last)
		return
	}
	r.send(part, func(dst []byte) []byte { return enc(dst, list) })
}

// size is the length of a reply whose body payload appends.
func (r *responder) size(payload func([]byte) []byte) int {
	buf := getBuf()
	defer putBuf(buf)
	*buf = payload(appendReplyHeader((*buf)[:0], r.a.inst, r.a.cfg.NodeID, r.q.inst, r.q.id, partResult))
	return len(*buf)
}

func (r *responder) sendCount(part byte, n int) {
	r.send(part, func(dst []byte) []byte { return appendUvarint(dst, uint64(n)) })
}

// send publishes one reply part; payload appends its body.
func (r *responder) send(part byte, payload func([]byte) []byte) {
	a := r.a
	if a.closed.Load() {
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	enc := appendReplyHeader((*buf)[:0], a.inst, a.cfg.NodeID, r.q.inst, r.q.id, part)
	if payload != nil {
		enc = payload(enc)
	}
	*buf = enc
	if max := a.maxBytes(); len(enc) > max {
		a.log.Error("bus/nats: reply too large, not sent", "size", len(enc), "max", max, "op", r.q.op, "peer", r.q.node)
		a.met.Dropped(DropOversize, 1)
		return
	}
	if err := a.nc.Publish(r.to, enc); err != nil {
		a.log.Warn("bus/nats: cannot send reply", "peer", r.q.node, "error", err)
		return
	}
	a.met.Published(KindReply, len(enc))
}
