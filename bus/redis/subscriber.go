package redis

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/bus"
)

// readLoop is the subscriber: the one goroutine that reads the pub/sub connection and hands
// each message to its namespace. go-redis reconnects the connection after an error and makes
// every subscription again before the next read; the loop only paces the attempts and
// tracks the outage for Ready.
func (a *Adapter) readLoop() {
	defer a.wg.Done()
	var backoff time.Duration
	for a.readOnce(&backoff) {
	}
}

// readOnce receives and handles one message; it reports false once the adapter is closed.
// A panic (of go-redis on a reply it did not expect, say) is contained: the loop goes on.
func (a *Adapter) readOnce(backoff *time.Duration) (more bool) {
	defer func() {
		if r := recover(); r != nil {
			a.metrics.Dropped(ReasonPanic)
			a.log.Error("bus/redis: panic in the subscriber", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			more = sleepCtx(a.ctx, 50*time.Millisecond) // no busy loop if it happens again
		}
	}()
	msg, err := a.ps.Receive(a.ctx)
	if a.ctx.Err() != nil {
		return false
	}
	if err != nil {
		a.setSubDown(err)
		*backoff = min(max(2**backoff, 50*time.Millisecond), time.Second)
		return sleepCtx(a.ctx, *backoff)
	}
	*backoff = 0
	a.lastRecv.Store(time.Now().UnixNano())
	a.pingSent.Store(0)
	a.setSubUp()
	switch m := msg.(type) {
	case *goredis.Message:
		a.dispatch(m)
	case *goredis.Subscription:
		if m.Kind == "psubscribe" {
			a.subscribed(m.Channel)
		}
	}
	return true
}

// subscribed wakes the Attach waiting for pattern's confirmation.
func (a *Adapter) subscribed(pattern string) {
	a.mu.Lock()
	if ch := a.waiters[pattern]; ch != nil {
		close(ch)
		delete(a.waiters, pattern)
	}
	a.mu.Unlock()
}

func (a *Adapter) setSubDown(err error) {
	e := fmt.Errorf("bus/redis: subscriber connection down: %w: %w", bus.ErrUnavailable, err)
	if a.subErr.Swap(&e) == nil {
		a.metrics.Connected(false)
		a.log.Warn("bus/redis: subscriber connection lost; resubscribing when Redis is back", "err", err)
	}
}

func (a *Adapter) setSubUp() {
	if a.subErr.Load() == nil {
		return
	}
	if a.subErr.Swap(nil) != nil {
		a.metrics.Reconnected()
		a.metrics.Connected(true)
		select { // Redis may have restarted empty: register again without waiting
		case a.beatNow <- struct{}{}:
		default:
		}
		a.log.Info("bus/redis: subscriber connection restored, subscriptions made again")
	}
}

// dispatch routes one message. A panic in a Local callback is contained here.
func (a *Adapter) dispatch(m *goredis.Message) {
	defer a.recoverPanic(m.Channel)
	if a.closed.Load() {
		return // closing: the namespaces are detached already
	}
	r := a.routes.Load()
	if m.Pattern != "" {
		a.metrics.Received(KindBroadcast)
		if n := r.patterns[m.Pattern]; n != nil {
			n.onBroadcast(m.Channel, m.Payload)
			return
		}
		a.drop(ReasonUnknownNamespace, "broadcast for a namespace not attached", "channel", m.Channel)
		return
	}
	rt, ok := r.channels[m.Channel]
	switch {
	case ok && rt.response:
		a.metrics.Received(KindResponse)
		rt.ns.onResponse(m.Payload)
	case ok:
		a.metrics.Received(KindRequest)
		rt.ns.onRequest(m.Payload)
	case m.Channel == a.nodeChannel():
		// nothing is published there
	default:
		a.drop(ReasonUnknownNamespace, "message for a namespace not attached", "channel", m.Channel)
	}
}

// recoverPanic stops a panic of a callback from killing the goroutine that called it; where
// says what was being handled (a channel name, a callback).
func (a *Adapter) recoverPanic(where string) {
	if r := recover(); r != nil {
		a.metrics.Dropped(ReasonPanic)
		a.log.Error("bus/redis: panic in a callback", "where", where, "panic", fmt.Sprint(r),
			"stack", string(debug.Stack()))
	}
}

// drop counts a dropped message and logs it (rate-limited).
func (a *Adapter) drop(reason, detail string, attrs ...any) {
	a.metrics.Dropped(reason)
	a.drops.logf(reason, detail, attrs...)
}

// maintain refreshes the registry entry and checks that an idle subscriber connection still
// answers, every HeartbeatInterval.
func (a *Adapter) maintain() {
	defer a.wg.Done()
	defer close(a.maintDone)
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		checkSub := false
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
			checkSub = true
		case <-a.beatNow:
		}
		a.tick(checkSub)
	}
}

// tick runs one round of maintain; a panic is contained.
func (a *Adapter) tick(checkSub bool) {
	defer a.recoverPanic("maintenance")
	if checkSub {
		a.checkSubscriber()
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.HeartbeatInterval)
	defer cancel()
	if err := a.heartbeat(ctx); err != nil && a.ctx.Err() == nil {
		a.log.Warn("bus/redis: node registry heartbeat failed", "err", err)
	}
}

// checkSubscriber PINGs the subscriber connection when it has been idle for an interval, and
// reports it down when a PING stays unanswered for another one (a silent network failure:
// go-redis reconnects only when the connection errors out).
func (a *Adapter) checkSubscriber() {
	now := time.Now().UnixNano()
	every := int64(a.cfg.HeartbeatInterval)
	if sent := a.pingSent.Load(); sent != 0 {
		if now-sent > every && a.lastRecv.Load() < sent {
			a.setSubDown(errors.New("no answer to PING"))
		}
		return
	}
	if now-a.lastRecv.Load() < every {
		return
	}
	a.pingSent.Store(now)
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.HeartbeatInterval)
	defer cancel()
	if err := a.ps.Ping(ctx); err != nil && a.ctx.Err() == nil {
		a.setSubDown(err)
		a.pingSent.Store(0)
	}
}

// sleepCtx sleeps for d, or less when ctx ends (then it returns false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// bytesOf returns the bytes of s without copying. The wire decoders only read their input and
// never retain it.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
