package nats

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/contract"
)

var (
	_ bus.Adapter        = (*Adapter)(nil)
	_ bus.SocketIDTagger = (*Adapter)(nil)
)

// ctlQueueLen is the capacity of the queues of requests and of control
// messages (replies, heartbeats, probes).
const ctlQueueLen = 8192

// Adapter is one node's connection to the cluster over NATS.
type Adapter struct {
	cfg  Config
	nc   *natsgo.Conn
	subj subjects
	// replySubj is P.node.<id>.rep, where this node's requests are answered.
	replySubj string
	inst      uint64  // random id of this Adapter value, tells its own echo apart
	tag       [3]byte // start of this node's socket ids (owner.go)
	tagTok    string
	log       *slog.Logger
	met       Metrics

	nspMu sync.Mutex                            // serializes Attach and detach
	nsps  atomic.Pointer[map[string]*namespace] // by namespace token; copy on write

	peers peers

	reqMu   sync.Mutex
	pending map[uint64]*pending
	reqID   atomic.Uint64

	// pubMu makes the copies of a broadcast sent on several subjects leave
	// back to back, so that receivers see them consecutively (dedupe.go).
	pubMu sync.Mutex
	seq   uint64 // guarded by pubMu

	bcCh  chan *natsgo.Msg // broadcasts, for deliverLoop
	reqCh chan *natsgo.Msg // requests, for serveLoop
	ctlCh chan *natsgo.Msg // replies, heartbeats, probes, for ctlLoop
	subs  []*trackedSub    // adapter-level: node inbox, requests, heartbeats

	done      chan struct{}
	wg        sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once

	logMu   sync.Mutex
	lastLog map[string]time.Time // rate limit of drop logs, by reason
}

// New connects a node to the cluster: it checks that no live node uses
// cfg.NodeID (an error wrapping bus.ErrNodeIDConflict if one answers),
// subscribes to the node's subjects, and learns the live peers before it
// returns. It fails with bus.ErrUnavailable if cfg.Conn is not connected.
func New(ctx context.Context, cfg Config) (*Adapter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		cfg:     cfg,
		nc:      cfg.Conn,
		subj:    newSubjects(cfg.Prefix),
		tag:     socketIDTag(cfg.NodeID),
		tagTok:  tagToken(socketIDTag(cfg.NodeID)),
		inst:    newInstance(),
		log:     cfg.Logger.With("node", cfg.NodeID),
		met:     cfg.Metrics,
		pending: make(map[uint64]*pending),
		bcCh:    make(chan *natsgo.Msg, cfg.QueueLen),
		reqCh:   make(chan *natsgo.Msg, ctlQueueLen),
		ctlCh:   make(chan *natsgo.Msg, ctlQueueLen),
		done:    make(chan struct{}),
		lastLog: make(map[string]time.Time),
	}
	a.replySubj = a.subj.reply(cfg.NodeID)
	a.peers.init(cfg.PeerTTL)
	a.nsps.Store(&map[string]*namespace{})
	if st := a.nc.Status(); st != natsgo.CONNECTED {
		return nil, fmt.Errorf("bus/nats: nats connection %s: %w", st, bus.ErrUnavailable)
	}
	if err := a.checkNodeID(ctx); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		subj string
		ch   chan *natsgo.Msg
	}{{a.subj.nodeInbox(cfg.NodeID), a.ctlCh}, {a.subj.requests(), a.reqCh}} {
		sub, err := a.nc.ChanSubscribe(s.subj, s.ch)
		if err != nil {
			a.unsubscribe()
			return nil, fmt.Errorf("bus/nats: subscribe %s: %w: %w", s.subj, bus.ErrUnavailable, err)
		}
		a.subs = append(a.subs, &trackedSub{Subscription: sub})
	}
	if err := a.discover(ctx); err != nil {
		a.unsubscribe()
		return nil, err
	}
	a.wg.Add(3)
	go a.deliverLoop()
	go a.serveLoop()
	go a.ctlLoop()
	a.log.Info("bus/nats: node joined the cluster", "peers", a.peers.len(), "prefix", cfg.Prefix)
	return a, nil
}

func newInstance() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// checkNodeID asks P.node.<id>.ping whether a live node already uses the
// id. No responder means no; a timeout is taken as no (a stale
// subscription the server has not dropped yet) with a warning.
func (a *Adapter) checkNodeID(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	ping := appendNodeMsg(nil, kindPing, a.inst, a.cfg.NodeID, 0)
	m, err := a.nc.RequestWithContext(ctx, a.subj.ping(a.cfg.NodeID), ping)
	switch {
	case err == nil:
		kind, inst, node, _, derr := decodeNodeMsg(m.Data)
		if derr == nil && kind == kindPong && inst != a.inst {
			return fmt.Errorf("bus/nats: node id %q answered by %s: %w", a.cfg.NodeID, node, bus.ErrNodeIDConflict)
		}
		a.log.Warn("bus/nats: unexpected answer to node id probe", "error", derr)
		return nil
	case errors.Is(err, natsgo.ErrNoResponders):
		return nil
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, natsgo.ErrTimeout):
		if cerr := context.Cause(ctx); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
			return cerr
		}
		a.log.Warn("bus/nats: node id probe timed out; assuming the id is free")
		return nil
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("bus/nats: node id probe: %w: %w", bus.ErrUnavailable, err)
}

// discover sends a hello on P.node.hb and records the peers that answer
// with their heartbeat. It returns at once when nobody listens (the
// server's no-responders status), else after a quiet period without
// answers (bounded by RequestTimeout). It also subscribes to P.node.hb,
// right after the hello so that no node starting meanwhile goes unseen.
func (a *Adapter) discover(ctx context.Context) error {
	inbox := a.nc.NewInbox()
	sub, err := a.nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("bus/nats: discover: %w: %w", bus.ErrUnavailable, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	hello := appendNodeMsg(nil, kindHeartbeat, a.inst, a.cfg.NodeID, hbHello)
	if err := a.nc.PublishRequest(a.subj.heartbeat(), inbox, hello); err != nil {
		return fmt.Errorf("bus/nats: discover: %w: %w", bus.ErrUnavailable, err)
	}
	a.met.Published(KindHeartbeat, len(hello))
	hb, err := a.nc.ChanSubscribe(a.subj.heartbeat(), a.ctlCh)
	if err != nil {
		return fmt.Errorf("bus/nats: subscribe %s: %w: %w", a.subj.heartbeat(), bus.ErrUnavailable, err)
	}
	a.subs = append(a.subs, &trackedSub{Subscription: hb})

	const quiet = 100 * time.Millisecond
	deadline := time.Now().Add(a.cfg.RequestTimeout)
	wait := a.cfg.RequestTimeout
	for {
		if d := time.Until(deadline); d < wait {
			wait = d
		}
		if wait <= 0 {
			return nil
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		m, err := sub.NextMsgWithContext(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil // quiet: every live peer answered
		}
		if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
			return nil // no responders: the first node
		}
		kind, inst, node, _, derr := decodeNodeMsg(m.Data)
		if derr != nil || kind != kindHeartbeat {
			a.drop(DropMalformed, "bus/nats: bad answer to hello", "error", derr)
		} else if inst != a.inst && node != a.cfg.NodeID {
			a.met.Received(KindHeartbeat, len(m.Data))
			a.peers.seen(node, inst, time.Now())
		}
		wait = quiet
	}
}

// NodeID returns this node's id.
func (a *Adapter) NodeID() string { return a.cfg.NodeID }

// Ready returns nil while the NATS connection is up; otherwise an error
// wrapping bus.ErrUnavailable (and bus.ErrClosed once the adapter closed).
func (a *Adapter) Ready() error {
	if a.closed.Load() {
		return fmt.Errorf("bus/nats: %w: %w", bus.ErrUnavailable, bus.ErrClosed)
	}
	if st := a.nc.Status(); st != natsgo.CONNECTED {
		return fmt.Errorf("bus/nats: nats connection %s: %w", st, bus.ErrUnavailable)
	}
	return nil
}

// Attach links namespace nsp to the cluster: it subscribes to the
// namespace-wide subjects P.node.bc.<ns> and P.node.sel.<ns>; rooms are
// subscribed as Namespace.RoomCreated announces them.
func (a *Adapter) Attach(nsp string, local bus.Local) (bus.Namespace, error) {
	if local == nil {
		return nil, errors.New("bus/nats: Attach: nil Local")
	}
	if nsp == "" {
		nsp = "/"
	}
	a.nspMu.Lock()
	defer a.nspMu.Unlock()
	if a.closed.Load() {
		return nil, fmt.Errorf("bus/nats: attach %s: %w", nsp, bus.ErrClosed)
	}
	tok := contract.NamespaceToken(nsp)
	old := *a.nsps.Load()
	if _, ok := old[tok]; ok {
		return nil, fmt.Errorf("bus/nats: namespace %s already attached", nsp)
	}
	ns := newNamespace(a, nsp, tok, local)
	if err := ns.subscribe(); err != nil {
		return nil, err
	}
	m := make(map[string]*namespace, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[tok] = ns
	a.nsps.Store(&m)
	return ns, nil
}

// detach forgets ns (its subscriptions are gone already).
func (a *Adapter) detach(ns *namespace) {
	a.nspMu.Lock()
	defer a.nspMu.Unlock()
	old := *a.nsps.Load()
	if old[ns.tok] != ns {
		return
	}
	m := make(map[string]*namespace, len(old))
	for k, v := range old {
		if v != ns {
			m[k] = v
		}
	}
	a.nsps.Store(&m)
}

func (a *Adapter) lookup(tok string) *namespace { return (*a.nsps.Load())[tok] }

// Close says goodbye to the other nodes, detaches every namespace,
// unsubscribes and waits for the adapter's goroutines. It does not wait on
// NATS longer than a bounded flush, and not at all when NATS is down. It
// must not be called from a Local callback. The connection stays open.
func (a *Adapter) Close() error {
	a.closeOnce.Do(func() {
		a.nspMu.Lock()
		a.closed.Store(true)
		nsps := *a.nsps.Load()
		a.nspMu.Unlock()
		for _, ns := range nsps {
			_ = ns.Close()
		}
		close(a.done)
		a.wg.Wait()
		// The goodbye goes last: no heartbeat of ours may follow it.
		if a.nc.Status() == natsgo.CONNECTED {
			bye := appendNodeMsg(nil, kindHeartbeat, a.inst, a.cfg.NodeID, hbBye)
			if a.nc.Publish(a.subj.heartbeat(), bye) == nil {
				a.met.Published(KindHeartbeat, len(bye))
			}
		}
		a.unsubscribe()
		if a.nc.Status() == natsgo.CONNECTED {
			_ = a.nc.FlushTimeout(min(a.cfg.RequestTimeout, time.Second))
		}
		a.log.Info("bus/nats: node left the cluster")
	})
	return nil
}

func (a *Adapter) unsubscribe() {
	for _, s := range a.subs {
		_ = s.Unsubscribe()
	}
	a.subs = nil
}

// maxBytes is the size limit of a message.
func (a *Adapter) maxBytes() int {
	if a.cfg.MaxMessageBytes > 0 {
		return a.cfg.MaxMessageBytes
	}
	return int(a.nc.MaxPayload())
}

// oversize reports (and counts) a received message over the limit.
func (a *Adapter) oversize(m *natsgo.Msg) bool {
	if a.cfg.MaxMessageBytes > 0 && len(m.Data) > a.cfg.MaxMessageBytes {
		a.drop(DropOversize, "bus/nats: dropped oversize message", "subject", m.Subject, "size", len(m.Data))
		return true
	}
	return false
}

// drop counts a dropped message and logs it, at most once a second per reason.
func (a *Adapter) drop(reason, msg string, args ...any) {
	a.met.Dropped(reason, 1)
	now := time.Now()
	a.logMu.Lock()
	last := a.lastLog[reason]
	ok := now.Sub(last) >= time.Second
	if ok {
		a.lastLog[reason] = now
	}
	a.logMu.Unlock()
	if ok {
		a.log.Warn(msg, append(args, "reason", reason)...)
	}
}

// dropDecode counts a message that did not decode.
func (a *Adapter) dropDecode(err error, m *natsgo.Msg) {
	reason := DropMalformed
	if errors.Is(err, errVersion) || errors.Is(err, errKind) {
		reason = DropUnknownType
	}
	a.drop(reason, "bus/nats: dropped message", "subject", m.Subject, "size", len(m.Data), "error", err)
}

// publishErr turns a nats.go publish error into the bus's.
func publishErr(err error) error {
	switch {
	case errors.Is(err, natsgo.ErrMaxPayload):
		return fmt.Errorf("bus/nats: %w: %w", bus.ErrTooLarge, err)
	case errors.Is(err, natsgo.ErrConnectionClosed), errors.Is(err, natsgo.ErrReconnectBufExceeded),
		errors.Is(err, natsgo.ErrConnectionDraining), errors.Is(err, natsgo.ErrInvalidConnection):
		return fmt.Errorf("bus/nats: %w: %w", bus.ErrUnavailable, err)
	}
	return fmt.Errorf("bus/nats: publish: %w", err)
}
