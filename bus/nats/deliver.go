package nats

import (
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/bus"
)

// deliverLoop delivers the broadcasts of every namespace to Local, one at
// a time and in the order NATS delivered them: every broadcast
// subscription feeds one channel, so the order in which a sender
// published on different subjects is kept.
func (a *Adapter) deliverLoop() {
	defer a.wg.Done()
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	dd := dedupe{m: make(map[uint64]*recent)}
	for {
		select {
		case <-a.done:
			return
		case m := <-a.bcCh:
			a.deliver(m, &dd)
		case <-t.C:
			dd.prune()
		}
	}
}

func (a *Adapter) deliver(m *natsgo.Msg, dd *dedupe) {
	if a.oversize(m) {
		return
	}
	if _, inst, err := peekHeader(m.Data); err == nil && inst == a.inst {
		return // our own broadcast
	}
	nsTok, sel, ok := a.subj.broadcastNamespace(m.Subject)
	if !ok {
		a.drop(DropMalformed, "bus/nats: broadcast on unexpected subject", "subject", m.Subject)
		return
	}
	ns := a.lookup(nsTok)
	if ns == nil {
		a.drop(DropUnknownNamespace, "bus/nats: broadcast for a namespace not attached", "subject", m.Subject)
		return
	}
	b := new(bus.Broadcast)
	inst, seq, err := decodeBroadcast(m.Data, b)
	if err != nil {
		a.dropDecode(err, m)
		return
	}
	a.met.Received(KindBroadcast, len(m.Data))
	if sel && !ns.hasAny(b.Rooms) {
		a.met.Dropped(DropNotLocal, 1)
		return
	}
	if seq != 0 && dd.seen(inst, seq) {
		a.met.Dropped(DropDuplicate, 1)
		return
	}
	ns.invoke("Broadcast", func() { ns.local.Broadcast(b) })
}

// hasAny reports whether a local socket is in one of rooms.
func (ns *namespace) hasAny(rooms []string) bool {
	found := false
	ns.invoke("HasRoom", func() {
		for _, r := range rooms {
			if ns.local.HasRoom(r) {
				found = true
				return
			}
		}
	})
	return found
}

// dedupe remembers, per sending instance, the sequence numbers of the
// last broadcasts delivered that were published on several subjects. The
// copies of one broadcast leave the sender back to back (Adapter.pubMu)
// and NATS keeps a sender's order towards a receiver, so they arrive
// within a few messages of each other: a short window is enough. Only
// deliverLoop uses it.
type dedupe struct {
	m   map[uint64]*recent
	gen uint32
}

const dedupeWindow = 16

type recent struct {
	seqs [dedupeWindow]uint64
	next int
	gen  uint32
}

// seen reports whether seq from inst was delivered, recording it if not.
func (d *dedupe) seen(inst, seq uint64) bool {
	r := d.m[inst]
	if r == nil {
		r = &recent{}
		d.m[inst] = r
	}
	r.gen = d.gen
	for _, s := range r.seqs {
		if s == seq {
			return true
		}
	}
	r.seqs[r.next] = seq
	r.next = (r.next + 1) % dedupeWindow
	return false
}

// prune forgets the senders not heard from in the last two periods.
func (d *dedupe) prune() {
	d.gen++
	for k, r := range d.m {
		if d.gen-r.gen > 2 {
			delete(d.m, k)
		}
	}
}
