package nats

import (
	"context"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
)

// Cluster requests, requesting side. Each one is published once on
// P.node.req.<ns> with reply subject P.node.<id>.rep and waits for the
// live peers (see peers.go) until RequestTimeout or ctx's deadline.

// simple runs a request answered by one result part per node, giving each
// part's payload to handle.
func (ns *namespace) simple(ctx context.Context, q *request, handle func(payload []byte) error) (bus.Result, error) {
	c, res, err := ns.start(ctx, q)
	if err != nil {
		return res, err
	}
	deadline := time.Now().Add(ns.a.cfg.RequestTimeout)
	return c.wait(ctx, deadline, deadline, func(rep *reply) bool {
		switch rep.part {
		case partNone:
			return true
		case partResult, partMore:
			// A list too large for one message comes in pieces, in order
			// (one publisher, one subscriber): the node's answer is
			// complete with the partResult piece.
			if err := handle(rep.payload); err != nil {
				ns.a.drop(DropMalformed, "bus/nats: bad reply", "nsp", ns.name, "peer", rep.node, "error", err)
				return false
			}
			return rep.part == partResult
		}
		ns.a.drop(DropUnknownType, "bus/nats: unexpected reply part", "nsp", ns.name, "peer", rep.node, "part", rep.part)
		return false
	}, nil)
}

// FetchSockets describes the selected sockets of the other nodes.
func (ns *namespace) FetchSockets(ctx context.Context, sel bus.Selector) ([]bus.SocketInfo, bus.Result, error) {
	var out []bus.SocketInfo
	res, err := ns.simple(ctx, &request{op: opSockets, sel: sel}, func(p []byte) error {
		socks, err := decodeSockets(p)
		out = append(out, socks...)
		return err
	})
	return out, res, err
}

// AllRooms lists the rooms of the other nodes, sorted, each once.
func (ns *namespace) AllRooms(ctx context.Context) ([]string, bus.Result, error) {
	set := make(map[string]bool)
	res, err := ns.simple(ctx, &request{op: opRooms}, func(p []byte) error {
		rooms, err := decodeStrings(p)
		for _, r := range rooms {
			set[r] = true
		}
		return err
	})
	return sortedKeys(set, nil), res, err
}

// Join makes the selected sockets of the other nodes join rooms.
func (ns *namespace) Join(ctx context.Context, sel bus.Selector, rooms []string) (int, bus.Result, error) {
	return ns.matching(ctx, &request{op: opJoin, sel: sel, rooms: rooms})
}

// Leave makes the selected sockets of the other nodes leave rooms.
func (ns *namespace) Leave(ctx context.Context, sel bus.Selector, rooms []string) (int, bus.Result, error) {
	return ns.matching(ctx, &request{op: opLeave, sel: sel, rooms: rooms})
}

// Disconnect disconnects the selected sockets of the other nodes.
func (ns *namespace) Disconnect(ctx context.Context, sel bus.Selector, close bool) (int, bus.Result, error) {
	return ns.matching(ctx, &request{op: opDisconnect, sel: sel, close: close})
}

func (ns *namespace) matching(ctx context.Context, q *request) (int, bus.Result, error) {
	matched := 0
	res, err := ns.simple(ctx, q, func(p []byte) error {
		n, err := decodeUvarint(p)
		if err == nil {
			matched += int(n)
		}
		return err
	})
	return matched, res, err
}

// ServerSideEmit sends m to the other nodes' server-side handlers. With a
// nil reply it only publishes; otherwise it calls reply once per node that
// answered, and a node whose handlers do not answer in time is Missing.
func (ns *namespace) ServerSideEmit(ctx context.Context, m bus.Message, reply func(bus.Message)) (bus.Result, error) {
	q := &request{op: opEmit, msg: m}
	if reply == nil {
		return bus.Result{Missing: []string{}}, ns.notify(ctx, q)
	}
	return ns.simple(ctx, q, func(p []byte) error {
		msg, err := decodeMessage(p)
		if err == nil {
			reply(msg)
		}
		return err
	})
}

// notify publishes a request that wants no answer.
func (ns *namespace) notify(ctx context.Context, q *request) error {
	a := ns.a
	if ns.closed.Load() {
		return errClosed(ns)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	q.node = a.cfg.NodeID
	buf := getBuf()
	defer putBuf(buf)
	*buf = appendRequest((*buf)[:0], a.inst, q)
	if err := ns.checkSize(len(*buf)); err != nil {
		return err
	}
	if err := a.nc.Publish(ns.reqSubj, *buf); err != nil {
		return publishErr(err)
	}
	a.met.Published(KindRequest, len(*buf))
	return nil
}

// PublishWithAck sends b to the other nodes' sockets with acks. Nodes
// report their client count within min(RequestTimeout, timeout); the call
// then waits for the counted clients' acks until timeout (zero or less
// means RequestTimeout). count and ack are called on the caller's
// goroutine, never at once.
func (ns *namespace) PublishWithAck(ctx context.Context, b *bus.Broadcast, timeout time.Duration, count func(n int), ack func(bus.Message)) (bus.Result, error) {
	if timeout <= 0 {
		timeout = ns.a.cfg.RequestTimeout
	}
	c, res, err := ns.start(ctx, &request{op: opBroadcastAck, bc: *b, timeout: timeout})
	if err != nil {
		return res, err
	}
	type node struct {
		counted bool
		n, acks int
	}
	nodes := make(map[string]*node)
	now := time.Now()
	until := now.Add(timeout)
	answerBy := minTime(now.Add(ns.a.cfg.RequestTimeout), until)
	handle := func(rep *reply) bool {
		st := nodes[rep.node]
		if st == nil {
			st = &node{}
			nodes[rep.node] = st
		}
		switch rep.part {
		case partCount:
			n, err := decodeUvarint(rep.payload)
			if err != nil || st.counted {
				ns.a.drop(DropMalformed, "bus/nats: bad ack count", "nsp", ns.name, "peer", rep.node, "error", err)
				return false
			}
			st.counted, st.n = true, int(n)
			if count != nil {
				count(st.n)
			}
			return true
		case partAck:
			m, err := decodeMessage(rep.payload)
			if err != nil {
				ns.a.drop(DropMalformed, "bus/nats: bad ack", "nsp", ns.name, "peer", rep.node, "error", err)
				return false
			}
			st.acks++
			if ack != nil {
				ack(m)
			}
			return false
		}
		ns.a.drop(DropUnknownType, "bus/nats: unexpected reply part", "nsp", ns.name, "peer", rep.node, "part", rep.part)
		return false
	}
	busy := func() bool {
		for _, st := range nodes {
			if st.counted && st.acks < st.n {
				return true
			}
		}
		return false
	}
	return c.wait(ctx, answerBy, until, handle, busy)
}
