package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/bus"
)

// Adapter is one node's connection to a Redis fan-out cluster. It is safe for concurrent use.
type Adapter struct {
	cfg   Config
	id    string
	key   string
	token string // this process's instance token in the registry
	// registered is set by the first heartbeat (heartbeats run one at a time: in New, then in
	// maintain).
	registered bool
	client     goredis.UniversalClient
	owned      bool // client built by New, closed by Close
	ps         *goredis.PubSub
	log        *slog.Logger
	metrics    Metrics
	drops      dropLog
	out        *publisher
	// selfPrefix is how our own broadcasts start (msgpack [uid, ...): they are dropped
	// without decoding.
	selfPrefix string

	ctx    context.Context // the adapter's lifetime, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool

	mu      sync.Mutex
	nsps    map[string]*namespace
	waiters map[string]chan struct{} // PSUBSCRIBE confirmations awaited by Attach, by pattern
	routes  atomic.Pointer[routes]   // rebuilt under mu, read lock-free by the subscriber

	subErr    atomic.Pointer[error] // non-nil while the subscriber connection is down
	lastRecv  atomic.Int64          // unix nanoseconds of the subscriber's last receive
	pingSent  atomic.Int64          // unix nanoseconds of an unanswered health PING, or 0
	beatNow   chan struct{}         // cap 1: heartbeat at once (after a reconnection)
	maintDone chan struct{}         // closed when maintain returns
}

var _ bus.Adapter = (*Adapter)(nil)

// New connects to Redis, checks that no live node uses cfg.NodeID (else the error wraps
// bus.ErrNodeIDConflict), registers the node and starts the subscriber. An unreachable Redis
// gives an error wrapping bus.ErrUnavailable. ctx bounds the start-up only.
func New(ctx context.Context, cfg Config) (*Adapter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client, owned, err := openClient(&cfg)
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		cfg:        cfg,
		id:         cfg.NodeID,
		key:        cfg.Key,
		token:      randomID(16),
		client:     client,
		owned:      owned,
		log:        cfg.Logger,
		metrics:    cfg.Metrics,
		drops:      dropLog{log: cfg.Logger},
		selfPrefix: msgpackArrayStrPrefix(cfg.NodeID),
		nsps:       make(map[string]*namespace),
		waiters:    make(map[string]chan struct{}),
		beatNow:    make(chan struct{}, 1),
		maintDone:  make(chan struct{}),
	}
	a.routes.Store(&routes{})
	a.ctx, a.cancel = context.WithCancel(context.Background())
	if err := a.start(ctx); err != nil {
		a.cancel()
		if a.ps != nil {
			_ = a.ps.Close()
		}
		if owned {
			_ = client.Close()
		}
		return nil, err
	}
	a.out = newPublisher(a)
	a.metrics.Connected(true)
	a.lastRecv.Store(time.Now().UnixNano())
	a.wg.Add(3)
	go a.readLoop()
	go a.out.run()
	go a.maintain()
	return a, nil
}

// start verifies the connection, subscribes to the node channel, checks the node id and
// registers the node.
func (a *Adapter) start(ctx context.Context) error {
	if err := a.client.Ping(ctx).Err(); err != nil {
		return unavailable("PING", err)
	}
	a.ps = a.client.Subscribe(ctx, a.nodeChannel())
	for {
		msg, err := a.ps.ReceiveTimeout(ctx, a.cfg.RequestTimeout)
		if err != nil {
			return unavailable("SUBSCRIBE", err)
		}
		if s, ok := msg.(*goredis.Subscription); ok && s.Channel == a.nodeChannel() {
			break
		}
	}
	if err := a.checkConflict(ctx); err != nil {
		return err
	}
	if err := a.heartbeat(ctx); err != nil {
		return unavailable("node registry", err)
	}
	return nil
}

func unavailable(what string, err error) error {
	return fmt.Errorf("bus/redis: %s: %w: %w", what, bus.ErrUnavailable, err)
}

// NodeID returns this node's id, which is also its adapter uid on the wire.
func (a *Adapter) NodeID() string { return a.id }

// Attach links namespace nsp to the cluster: it subscribes to the namespace's broadcast
// pattern, request channel, response channel and specific response channel, on the adapter's
// single pub/sub connection, and waits (up to RequestTimeout) for Redis to confirm. When Redis
// is unreachable the namespace is attached all the same and subscribed once it is back (Ready
// reports the outage). A namespace can be attached once at a time.
func (a *Adapter) Attach(nsp string, local bus.Local) (bus.Namespace, error) {
	if nsp == "" || nsp[0] != '/' {
		return nil, fmt.Errorf("bus/redis: namespace %q does not start with '/'", nsp)
	}
	if local == nil {
		return nil, errors.New("bus/redis: Attach with a nil Local")
	}
	n := newNamespace(a, nsp, local)
	confirmed := make(chan struct{})
	a.mu.Lock()
	if a.closed.Load() {
		a.mu.Unlock()
		return nil, fmt.Errorf("bus/redis: %w", bus.ErrClosed)
	}
	if a.nsps[nsp] != nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("bus/redis: namespace %q is already attached", nsp)
	}
	a.nsps[nsp] = n
	a.waiters[n.pattern] = confirmed
	a.rebuildRoutesLocked()
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.RequestTimeout)
	defer cancel()
	// go-redis records the subscriptions even when the connection is down, and makes them
	// again on every reconnection.
	err := a.ps.Subscribe(ctx, n.reqCh, n.respCh, n.specCh)
	if perr := a.ps.PSubscribe(ctx, n.pattern); err == nil {
		err = perr
	}
	if err == nil {
		select {
		case <-confirmed:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	a.mu.Lock()
	delete(a.waiters, n.pattern)
	a.mu.Unlock()
	if err != nil {
		a.log.Warn("bus/redis: namespace attached while Redis is unreachable; subscribing when it is back",
			"nsp", nsp, "err", err)
	}
	return n, nil
}

// detach removes n from the routes and unsubscribes its channels.
func (a *Adapter) detach(n *namespace) {
	a.mu.Lock()
	if a.nsps[n.name] != n {
		a.mu.Unlock()
		return
	}
	delete(a.nsps, n.name)
	a.rebuildRoutesLocked()
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(a.ctx, time.Second)
	defer cancel()
	_ = a.ps.Unsubscribe(ctx, n.reqCh, n.respCh, n.specCh)
	_ = a.ps.PUnsubscribe(ctx, n.pattern)
}

// Ready returns nil while the subscriber connection is up and publishing works, else an error
// wrapping bus.ErrUnavailable (and bus.ErrClosed after Close). It only reads atomics.
func (a *Adapter) Ready() error {
	if a.closed.Load() {
		return fmt.Errorf("bus/redis: %w: %w", bus.ErrUnavailable, bus.ErrClosed)
	}
	if p := a.subErr.Load(); p != nil {
		return *p
	}
	if p := a.out.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Close detaches every namespace (pending requests return at once), publishes what is still
// queued when Redis is reachable (for at most a second), removes the node from the registry,
// stops every goroutine of the adapter and closes the client it built. It does not wait for
// an unreachable Redis. Calling it again does nothing.
func (a *Adapter) Close() error {
	if !a.closed.CompareAndSwap(false, true) {
		return nil
	}
	a.mu.Lock()
	nsps := make([]*namespace, 0, len(a.nsps))
	for _, n := range a.nsps {
		nsps = append(nsps, n)
	}
	clear(a.nsps)
	a.rebuildRoutesLocked()
	a.mu.Unlock()
	for _, n := range nsps {
		n.shutdown()
	}
	up := a.subErr.Load() == nil
	a.out.stop(up)
	a.cancel()
	<-a.maintDone // no heartbeat may follow the deregistration
	if up {
		a.deregister()
	}
	_ = a.ps.Close()
	a.wg.Wait()
	if a.owned {
		return a.client.Close()
	}
	return nil
}

// routes maps what the subscriber receives to namespaces. It is immutable once stored.
type routes struct {
	patterns map[string]*namespace // broadcast pattern → namespace
	channels map[string]route      // request and response channels
}

type route struct {
	ns       *namespace
	response bool // a response channel (else the request channel)
}

func (a *Adapter) rebuildRoutesLocked() {
	r := &routes{
		patterns: make(map[string]*namespace, len(a.nsps)),
		channels: make(map[string]route, 3*len(a.nsps)),
	}
	for _, n := range a.nsps {
		r.patterns[n.pattern] = n
		r.channels[n.reqCh] = route{ns: n}
		r.channels[n.respCh] = route{ns: n, response: true}
		r.channels[n.specCh] = route{ns: n, response: true}
	}
	a.routes.Store(r)
}

// msgpackArrayStrPrefix returns the msgpack bytes of a 3-element array's header followed by the
// string s: how a broadcast [uid, packet, opts] with uid s starts.
func msgpackArrayStrPrefix(s string) string {
	b := []byte{0x93}
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 1<<8:
		b = append(b, 0xd9, byte(n))
	case n < 1<<16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return string(append(b, s...))
}

// keys and channels of the Switchboard extensions.

// nodeChannel is the channel the node holds a subscription to for its whole life: its NUMSUB
// tells whether the node is connected.
func (a *Adapter) nodeChannel() string { return nodeChannel(a.key, a.id) }

func nodeChannel(key, id string) string { return key + "#sb#node#" + id }
