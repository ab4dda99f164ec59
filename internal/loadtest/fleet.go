package loadtest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Each client's read buffer. A busy client takes whatever the socket holds
// in one read and parses every frame in it, so the buffer should hold a
// whole burst (a broadcast window of ~150-byte messages); idle clients only
// ever see pings, and 10k of them each hold one buffer.
const (
	readBufferSize     = 16 << 10
	idleReadBufferSize = 2 << 10
)

// fleet owns a set of clients and their goroutines: one per client, which
// dials, handshakes, runs the scenario's setup and then becomes the client's
// read loop. close ends them all and waits for them.
type fleet struct {
	cfg     resolved
	dialers []*wsDialer

	connectLat histogram
	failed     atomic.Int64
	dropped    atomic.Int64 // read loops that ended before close
	wg         sync.WaitGroup

	mu       sync.Mutex
	clients  []*client
	closed   bool
	firstErr error
}

// newFleet returns a fleet whose clients read through readSize-byte buffers.
func newFleet(cfg resolved, readSize int) *fleet {
	f := &fleet{cfg: cfg}
	locals := cfg.locals
	if len(locals) == 0 {
		locals = []*net.TCPAddr{nil}
	}
	for _, la := range locals {
		d := &wsDialer{net: net.Dialer{Timeout: cfg.ConnectTimeout}, readSize: readSize, timeout: cfg.ConnectTimeout}
		if la != nil {
			d.net.LocalAddr = la
			d.net.Control = bindNoPort
		}
		f.dialers = append(f.dialers, d)
	}
	return f
}

// connect opens n clients numbered from first (the number picks the target
// URL and source address), paced by ConnectRate and ConnectConcurrency. Each
// runs setup (if not nil) after its namespace connect, then hands its packets
// to h. connect returns once every attempt has finished, with the clients that
// connected, or early with ctx's error.
func (f *fleet) connect(ctx context.Context, first, n int, setup func(*client) error, h handler) ([]*client, error) {
	var (
		ready sync.WaitGroup
		mu    sync.Mutex
		got   = make([]*client, 0, n)
		sem   = make(chan struct{}, f.cfg.ConnectConcurrency)
		start = time.Now()
		timer = time.NewTimer(time.Hour)
	)
	defer timer.Stop()
	onReady := func(c *client) {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
	}
	var err error
launch:
	for i := 0; i < n; i++ {
		if rate := f.cfg.ConnectRate; rate > 0 {
			due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			if d := time.Until(due); d > time.Millisecond {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-ctx.Done():
					err = ctx.Err()
					break launch
				}
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
			break launch
		}
		ready.Add(1)
		f.wg.Add(1)
		go f.run(ctx, first+i, setup, h, func(c *client) {
			if c != nil {
				onReady(c)
			}
			<-sem
			ready.Done()
		})
	}
	ready.Wait()
	if err == nil {
		err = ctx.Err()
	}
	return got, err
}

// run is a client's goroutine: open, report readiness, then read until the
// connection ends.
func (f *fleet) run(ctx context.Context, i int, setup func(*client) error, h handler, ready func(*client)) {
	defer f.wg.Done()
	t0 := time.Now()
	c, err := f.open(ctx, i, setup)
	if err == nil && !f.add(c) {
		err = context.Canceled
	}
	if err != nil {
		f.failed.Add(1)
		f.setErr(err)
		ready(nil)
		return
	}
	f.connectLat.Record(time.Since(t0))
	ready(c)
	err = c.readLoop(h)
	close(c.done)
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if !closed {
		f.dropped.Add(1)
		f.setErr(err)
	}
}

// open dials client i, connects its namespace and runs setup, all within
// ConnectTimeout.
func (f *fleet) open(ctx context.Context, i int, setup func(*client) error) (*client, error) {
	nt := len(f.cfg.targets)
	t := f.cfg.targets[i%nt]
	d := f.dialers[(i/nt)%len(f.dialers)]
	deadline := time.Now().Add(f.cfg.ConnectTimeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ws, err := d.dial(dctx, t.url, f.cfg.WriteTimeout)
	if err != nil {
		return nil, fmt.Errorf("loadtest: dial %s: %w", t.url, err)
	}
	c := newClient(ws, f.cfg.Namespace)
	stop := context.AfterFunc(dctx, func() { ws.close() }) // unblocks reads on cancel
	err = ws.setReadDeadline(deadline)
	if err == nil {
		err = c.handshake()
	}
	if err == nil && setup != nil {
		err = setup(c)
	}
	if err == nil {
		err = ws.setReadDeadline(time.Time{})
	}
	if !stop() && err == nil {
		err = dctx.Err()
	}
	if err != nil {
		ws.close()
		return nil, err
	}
	return c, nil
}

// add registers c, or reports false if the fleet is already closed.
func (f *fleet) add(c *client) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.ws.close()
		return false
	}
	f.clients = append(f.clients, c)
	return true
}

func (f *fleet) setErr(err error) {
	f.mu.Lock()
	if f.firstErr == nil {
		f.firstErr = err
	}
	f.mu.Unlock()
}

// errString returns the first error seen, or "".
func (f *fleet) errString() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.firstErr == nil {
		return ""
	}
	return f.firstErr.Error()
}

// close closes every connection and waits for all the fleet's goroutines.
// Callers must not be inside connect.
func (f *fleet) close() {
	f.mu.Lock()
	f.closed = true
	cs := f.clients
	f.clients = nil
	f.mu.Unlock()
	for _, c := range cs {
		c.ws.close()
	}
	f.wg.Wait()
}

// closeOnDone closes the fleet's connections when ctx ends, so that a
// scenario blocked on them returns; the returned func cancels that.
func (f *fleet) closeOnDone(ctx context.Context) func() bool {
	return context.AfterFunc(ctx, func() {
		f.mu.Lock()
		cs := append([]*client(nil), f.clients...)
		f.mu.Unlock()
		for _, c := range cs {
			c.ws.close()
		}
	})
}
