package nats

import (
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// ctlLoop handles replies, heartbeats and id probes, and on every tick
// sends this node's heartbeat, expires silent peers and counts the
// broadcasts nats.go dropped.
func (a *Adapter) ctlLoop() {
	defer a.wg.Done()
	t := time.NewTicker(a.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-a.done:
			return
		case m := <-a.ctlCh:
			a.control(m)
		case <-t.C:
			a.tick()
		}
	}
}

func (a *Adapter) tick() {
	if a.nc.Status() == natsgo.CONNECTED {
		a.sendHeartbeat(a.subj.heartbeat(), 0)
	}
	for _, id := range a.peers.expire(time.Now()) {
		a.log.Info("bus/nats: peer expired", "peer", id)
		a.peerGone(id)
	}
	for _, ns := range *a.nsps.Load() {
		a.slowConsumer(ns.droppedSince(), "broadcasts", ns.name)
	}
	n := 0
	for _, s := range a.subs {
		n += s.droppedSince()
	}
	a.slowConsumer(n, "requests or replies", "")
}

func (a *Adapter) slowConsumer(n int, what, nsp string) {
	if n > 0 {
		a.drop(DropSlowConsumer, "bus/nats: queue full, nats.go dropped "+what, "nsp", nsp, "count", n)
		a.met.Dropped(DropSlowConsumer, n-1)
	}
}

func (a *Adapter) sendHeartbeat(subj string, flags byte) {
	buf := getBuf()
	*buf = appendNodeMsg((*buf)[:0], kindHeartbeat, a.inst, a.cfg.NodeID, flags)
	if err := a.nc.Publish(subj, *buf); err == nil {
		a.met.Published(KindHeartbeat, len(*buf))
	}
	putBuf(buf)
}

func (a *Adapter) control(m *natsgo.Msg) {
	if a.oversize(m) {
		return
	}
	kind, inst, err := peekHeader(m.Data)
	if err != nil {
		a.dropDecode(err, m)
		return
	}
	if inst == a.inst {
		return // our own heartbeat
	}
	switch kind {
	case kindReply:
		a.received(m)
	case kindHeartbeat, kindPing:
		_, _, node, flags, err := decodeNodeMsg(m.Data)
		if err != nil {
			a.dropDecode(err, m)
			return
		}
		a.met.Received(KindHeartbeat, len(m.Data))
		if kind == kindPing {
			if m.Reply != "" {
				a.sendPong(m.Reply)
			}
			return
		}
		a.heartbeat(node, inst, flags, m.Reply)
	default:
		a.dropDecode(errKind, m)
	}
}

func (a *Adapter) sendPong(subj string) {
	pong := appendNodeMsg(nil, kindPong, a.inst, a.cfg.NodeID, 0)
	if err := a.nc.Publish(subj, pong); err == nil {
		a.met.Published(KindHeartbeat, len(pong))
	}
}

func (a *Adapter) heartbeat(node string, inst uint64, flags byte, replyTo string) {
	if node == a.cfg.NodeID {
		a.log.Error("bus/nats: another live node uses this node id", "instance", inst)
		return
	}
	if flags&hbBye != 0 {
		if a.peers.remove(node, inst) {
			a.log.Info("bus/nats: peer left", "peer", node)
			a.peerGone(node)
		}
		return
	}
	if a.peers.seen(node, inst, time.Now()) {
		a.log.Info("bus/nats: peer joined", "peer", node)
	}
	if flags&hbHello != 0 && replyTo != "" {
		a.sendHeartbeat(replyTo, 0)
	}
}

// peerGone stops every pending request from waiting for node.
func (a *Adapter) peerGone(node string) {
	a.reqMu.Lock()
	defer a.reqMu.Unlock()
	for _, p := range a.pending {
		p.push(item{gone: node})
	}
}
