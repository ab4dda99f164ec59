package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/bus"
)

// pending is a request waiting for answers. ctlLoop pushes replies and
// peer departures; the requesting goroutine takes them. The queue is
// unbounded so that ctlLoop never blocks on a slow requester (a broadcast
// with acks gets one reply per client).
type pending struct {
	mu     sync.Mutex
	items  []item
	signal chan struct{} // cap 1: items were pushed
}

type item struct {
	gone string // a peer left; or
	rep  *reply // an answer
}

func (p *pending) push(it item) {
	p.mu.Lock()
	p.items = append(p.items, it)
	p.mu.Unlock()
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

func (p *pending) take(buf []item) []item {
	p.mu.Lock()
	defer p.mu.Unlock()
	buf = append(buf[:0], p.items...)
	clear(p.items)
	p.items = p.items[:0]
	return buf
}

// received routes a reply to its pending request.
func (a *Adapter) received(m *natsgo.Msg) {
	rep, err := decodeReply(m.Data)
	if err != nil {
		a.dropDecode(err, m)
		return
	}
	a.met.Received(KindReply, len(m.Data))
	if rep.target != a.inst {
		a.met.Dropped(DropLate, 1) // for an earlier incarnation of this node
		return
	}
	a.reqMu.Lock()
	p := a.pending[rep.id]
	a.reqMu.Unlock()
	if p == nil {
		a.met.Dropped(DropLate, 1)
		return
	}
	p.push(item{rep: rep})
}

// call is one cluster request from this node.
type call struct {
	a        *Adapter
	id       uint64
	p        *pending
	expected map[string]bool // live peers when the request left
	waiting  map[string]bool // expected peers not answered and not gone
	answered map[string]bool // nodes whose answer is complete
	late     bool            // past the answer deadline: ignore new nodes
}

// start registers a call and publishes q on the namespace's request
// subject. On error the call is over; its Result names every expected peer.
func (ns *namespace) start(ctx context.Context, q *request) (*call, bus.Result, error) {
	a := ns.a
	if ns.closed.Load() {
		return nil, bus.Result{Missing: []string{}}, errClosed(ns)
	}
	if err := ctx.Err(); err != nil {
		return nil, bus.Result{Missing: []string{}}, err
	}
	c := &call{
		a:        a,
		id:       a.reqID.Add(1),
		p:        &pending{signal: make(chan struct{}, 1)},
		answered: make(map[string]bool),
	}
	q.id, q.node = c.id, a.cfg.NodeID
	buf := getBuf()
	defer putBuf(buf)
	*buf = appendRequest((*buf)[:0], a.inst, q)
	// Registered before the peers are listed, so that no departure
	// between the two goes unnoticed.
	a.reqMu.Lock()
	a.pending[c.id] = c.p
	a.reqMu.Unlock()
	c.expected = a.peers.live(time.Now())
	c.waiting = make(map[string]bool, len(c.expected))
	for id := range c.expected {
		c.waiting[id] = true
	}
	err := ns.checkSize(len(*buf))
	if err == nil && a.nc.Status() != natsgo.CONNECTED {
		err = fmt.Errorf("bus/nats: request: %w", bus.ErrUnavailable)
	}
	if err == nil {
		if err = a.nc.PublishRequest(ns.reqSubj, a.replySubj, *buf); err != nil {
			err = publishErr(err)
		}
	}
	if err != nil {
		c.finish()
		return nil, c.result(), err
	}
	a.met.Published(KindRequest, len(*buf))
	return c, bus.Result{}, nil
}

// finish unregisters the call.
func (c *call) finish() {
	c.a.reqMu.Lock()
	delete(c.a.pending, c.id)
	c.a.reqMu.Unlock()
}

func (c *call) result() bus.Result {
	return bus.Result{Answered: len(c.answered), Missing: sortedKeys(c.expected, c.answered)}
}

// wait takes answers until every expected peer answered (or left) and
// busy reports nothing more to wait for, or the deadlines pass: answerBy
// for nodes' answers, until (not before answerBy) for busy. handle gets
// each reply of a node not past the deadline and reports whether that
// node's answer is now complete. A ctx deadline is a shorter timeout; a
// cancelled ctx returns its error with the partial Result.
func (c *call) wait(ctx context.Context, answerBy, until time.Time, handle func(*reply) bool, busy func() bool) (bus.Result, error) {
	defer c.finish()
	if d, ok := ctx.Deadline(); ok {
		answerBy, until = minTime(answerBy, d), minTime(until, d)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var items []item
	for {
		if len(c.waiting) == 0 && (busy == nil || !busy()) {
			return c.result(), nil
		}
		now := time.Now()
		if !c.late && !now.Before(answerBy) {
			c.late = true
			clear(c.waiting)
			continue
		}
		if c.late && !now.Before(until) {
			return c.result(), nil
		}
		next := until
		if !c.late {
			next = answerBy
		}
		timer.Reset(next.Sub(now))
		select {
		case <-c.p.signal:
			items = c.p.take(items)
			for i := range items {
				c.take(&items[i], handle)
			}
			clear(items)
		case <-timer.C:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return c.result(), nil
			}
			return c.result(), ctx.Err()
		case <-c.a.done:
			return c.result(), fmt.Errorf("bus/nats: request: %w", bus.ErrClosed)
		}
	}
}

func (c *call) take(it *item, handle func(*reply) bool) {
	if it.gone != "" {
		delete(c.waiting, it.gone)
		return
	}
	node := it.rep.node
	if c.answered[node] && it.rep.part != partAck {
		return // a repeated answer
	}
	if c.late && !c.answered[node] {
		c.a.met.Dropped(DropLate, 1)
		return
	}
	if handle(it.rep) && !c.answered[node] {
		c.answered[node] = true
		delete(c.waiting, node)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
