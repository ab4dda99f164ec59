package redis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/bus"
)

// Batch limits of one pipeline.
const (
	maxBatchMessages = 512
	maxBatchBytes    = 1 << 20
	flushTimeout     = 2 * time.Second
)

// outMsg is a message waiting to be published.
type outMsg struct {
	channel  string
	payload  []byte
	kind     string // for Metrics.Published
	volatile bool   // dropped rather than queued while publishing fails
	retry    bool   // published again after a failure (else dropped)
	done     chan error
}

// publisher owns the outgoing queue: one goroutine publishes everything the node sends, in
// order, batching what queued up meanwhile into one pipeline (one round trip). Broadcasts and
// join/leave/disconnect requests are published again after a failure, until the queue is over
// MaxQueueBytes; answers are not (their requester gives up soon).
type publisher struct {
	a      *Adapter
	max    int
	kick   chan struct{} // cap 1: there is something to publish
	quit   chan struct{}
	exited chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	err    atomic.Pointer[error] // non-nil while publishing fails

	mu      sync.Mutex
	queue   []outMsg
	bytes   int
	closed  bool
	drained chan struct{} // closed by the writer when the queue is empty after stop
	room    chan struct{} // closed (and replaced) when messages leave the queue and some wait
	waiting int           // publishers waiting for room
}

func newPublisher(a *Adapter) *publisher {
	p := &publisher{
		a:      a,
		max:    a.cfg.MaxQueueBytes,
		kick:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
		room:   make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(a.ctx)
	return p
}

// enqueue queues m. When the queue is full it waits for room (until ctx ends) while Redis
// takes messages, and fails at once while publishing fails; volatile messages are dropped
// rather than waited for.
func (p *publisher) enqueue(ctx context.Context, m outMsg) error {
	p.mu.Lock()
	for {
		switch {
		case p.closed:
			p.mu.Unlock()
			return fmt.Errorf("bus/redis: %w", bus.ErrClosed)
		case m.volatile && p.err.Load() != nil:
			p.mu.Unlock()
			p.a.metrics.Dropped(ReasonPublishFailed)
			return nil
		case p.bytes+len(m.payload) > p.max && p.bytes > 0:
			if m.volatile || p.err.Load() != nil {
				p.mu.Unlock()
				p.a.drop(ReasonQueueFull, "publish queue full", "bytes", p.max)
				if m.volatile {
					return nil
				}
				return fmt.Errorf("bus/redis: publish queue full (%d bytes): %w", p.max, bus.ErrUnavailable)
			}
			room := p.room
			p.waiting++
			p.mu.Unlock()
			var err error
			select {
			case <-room:
			case <-ctx.Done():
				err = ctx.Err()
			}
			p.mu.Lock()
			p.waiting--
			if err != nil {
				p.mu.Unlock()
				p.a.metrics.Dropped(ReasonQueueFull)
				return fmt.Errorf("bus/redis: publish queue full: %w", err)
			}
			continue
		}
		break
	}
	p.queue = append(p.queue, m)
	p.bytes += len(m.payload)
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
	return nil
}

// run is the writer goroutine.
func (p *publisher) run() {
	defer p.a.wg.Done()
	defer close(p.exited)
	var batch []outMsg
	var backoff time.Duration
	for {
		batch = p.take(batch[:0])
		if len(batch) == 0 && p.err.Load() == nil {
			select {
			case <-p.kick:
				continue
			case <-p.quit:
				return
			}
		}
		var err error
		if len(batch) > 0 {
			var retry []outMsg
			retry, err = p.flush(batch)
			clear(batch)            // drop references to the payloads
			if p.ctx.Err() != nil { // stopping: what failed is left unsent
				for range retry {
					p.a.metrics.Dropped(ReasonClosed)
				}
				return
			}
			p.requeue(retry)
		} else {
			// Failing with nothing left to publish: probe Redis, so that Ready recovers.
			err = p.probe()
		}
		if err == nil {
			backoff = 0
			if p.err.Swap(nil) != nil {
				p.a.log.Info("bus/redis: publishing works again")
			}
			continue
		}
		e := fmt.Errorf("bus/redis: publish: %w: %w", bus.ErrUnavailable, err)
		if p.err.Swap(&e) == nil {
			p.a.log.Warn("bus/redis: publishing failed; retrying broadcasts", "err", err)
		}
		backoff = min(max(2*backoff, 50*time.Millisecond), time.Second)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-p.quit:
			t.Stop()
			return
		}
	}
}

func (p *publisher) probe() error {
	ctx, cancel := context.WithTimeout(p.ctx, time.Second)
	defer cancel()
	return p.a.client.Ping(ctx).Err()
}

// take moves up to a batch of messages from the queue into batch.
func (p *publisher) take(batch []outMsg) []outMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, size := 0, 0
	for n < len(p.queue) && n < maxBatchMessages && (n == 0 || size+len(p.queue[n].payload) <= maxBatchBytes) {
		size += len(p.queue[n].payload)
		n++
	}
	all := p.queue
	batch = append(batch, all[:n]...)
	clear(all[:n])
	switch {
	case n < len(all):
		p.queue = all[n:]
	case cap(all) <= 1024:
		p.queue = all[:0] // drained: reuse the array
	default:
		p.queue = nil // drained after a backlog: let the large array go
	}
	p.bytes -= size
	if n > 0 && p.waiting > 0 {
		close(p.room) // wake the publishers waiting for room
		p.room = make(chan struct{})
	}
	if n == 0 && p.closed && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
	return batch
}

// requeue puts failed messages back at the head of the queue.
func (p *publisher) requeue(ms []outMsg) {
	if len(ms) == 0 {
		return
	}
	p.mu.Lock()
	for _, m := range ms {
		p.bytes += len(m.payload)
	}
	p.queue = append(ms, p.queue...)
	p.mu.Unlock()
}

// flush publishes batch in one pipeline. It returns the messages to publish again and the
// first error. A panic (of a Metrics implementation, say) fails the batch instead of the
// process.
func (p *publisher) flush(batch []outMsg) (retry []outMsg, first error) {
	defer func() {
		if r := recover(); r != nil {
			p.a.metrics.Dropped(ReasonPanic)
			p.a.log.Error("bus/redis: panic while publishing", "panic", fmt.Sprint(r))
			retry, first = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	// A deadline bounds a flush on a connection that went silent (and with it Close).
	ctx, cancel := context.WithTimeout(p.ctx, flushTimeout)
	defer cancel()
	cmds, err := p.a.client.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i := range batch {
			pl.Publish(ctx, batch[i].channel, batch[i].payload)
		}
		return nil
	})
	for i := range batch {
		m := &batch[i]
		e := err
		if i < len(cmds) {
			e = cmds[i].Err()
		}
		if e == nil {
			p.a.metrics.Published(m.kind)
			if m.done != nil {
				m.done <- nil
			}
			continue
		}
		if first == nil {
			first = e
		}
		switch {
		case m.done != nil:
			m.done <- e
		case m.retry:
			retry = append(retry, *m)
		case p.ctx.Err() != nil:
			p.a.metrics.Dropped(ReasonClosed)
		default:
			p.a.drop(ReasonPublishFailed, "publish failed", "channel", m.channel, "err", e)
		}
	}
	return retry, first
}

// stop refuses new messages and ends the writer. With flush it first lets the writer publish
// what is queued, for at most a second.
func (p *publisher) stop(flush bool) {
	p.mu.Lock()
	p.closed = true
	close(p.room) // publishers waiting for room see closed
	p.room = make(chan struct{})
	drained := make(chan struct{})
	p.drained = drained
	p.mu.Unlock()
	if flush {
		select {
		case p.kick <- struct{}{}:
		default:
		}
		t := time.NewTimer(time.Second)
		select {
		case <-drained:
		case <-t.C:
		}
		t.Stop()
	}
	p.cancel()
	close(p.quit)
	<-p.exited
	p.mu.Lock()
	for _, m := range p.queue {
		p.a.metrics.Dropped(ReasonClosed)
		if m.done != nil {
			m.done <- fmt.Errorf("bus/redis: %w", bus.ErrClosed)
		}
	}
	p.queue, p.bytes = nil, 0
	p.mu.Unlock()
}
