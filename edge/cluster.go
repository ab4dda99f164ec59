package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/edge/engine"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// ErrCluster wraps the failures of the cluster part of an operation whose
// local part succeeded (a broadcast delivered here but not handed to the
// other nodes, say).
var ErrCluster = errors.New("edge: cluster")

// link is a namespace's attachment to the cluster.
type link struct{ ns bus.Namespace }

// cluster returns the namespace's link to the other nodes, nil when the
// server runs alone.
func (n *Namespace) cluster() bus.Namespace {
	if l := n.link.Load(); l != nil {
		return l.ns
	}
	return nil
}

// NodeID returns the id of this node in the cluster ("" without an adapter).
func (srv *Server) NodeID() string {
	if srv.cfg.Adapter == nil {
		return srv.cfg.NodeID
	}
	return srv.cfg.Adapter.NodeID()
}

// newSocketID returns a socket id, starting with the adapter's tag when
// it routes one-socket messages by it (bus.SocketIDTagger).
func (srv *Server) newSocketID() string {
	if t, ok := srv.cfg.Adapter.(bus.SocketIDTagger); ok {
		return engine.NewTaggedID(t.SocketIDTag())
	}
	return engine.NewID()
}

// attach links a new namespace to the cluster. It runs without the
// server's lock: attaching subscribes on the network.
func (srv *Server) attach(n *Namespace) {
	if srv.cfg.Adapter == nil {
		return
	}
	ns, err := srv.cfg.Adapter.Attach(n.name, localNamespace{n})
	if err != nil {
		srv.cfg.Logger.Error("edge: attach namespace to the cluster; it serves this node only", "nsp", n.name, "error", err)
		n.interest.off.Store(true)
		n.interest.mu.Lock()
		n.interest.queue = nil
		n.interest.mu.Unlock()
		return
	}
	n.link.Store(&link{ns: ns})
	n.flushInterest() // rooms created before the link existed
}

func (srv *Server) detachAll() {
	srv.mu.RLock()
	nsps := make([]*Namespace, 0, len(srv.nsps))
	for _, n := range srv.nsps {
		nsps = append(nsps, n)
	}
	srv.mu.RUnlock()
	for _, n := range nsps {
		n.interest.off.Store(true)
		if l := n.link.Swap(nil); l != nil {
			if err := l.ns.Close(); err != nil {
				srv.cfg.Logger.Warn("edge: detach namespace", "nsp", n.name, "error", err)
			}
		}
	}
}

func (srv *Server) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, srv.cfg.RequestTimeout)
}

func selector(o broadcastOpts) bus.Selector {
	return bus.Selector{Rooms: o.rooms, Except: o.except}
}

func optsOf(sel bus.Selector, volatile bool) broadcastOpts {
	return broadcastOpts{rooms: sel.Rooms, except: sel.Except, volatile: volatile}
}

// publish hands a broadcast encoded by this node to the others.
func (n *Namespace) publish(o broadcastOpts, data []byte, atts [][]byte) error {
	c := n.cluster()
	if c == nil {
		return nil
	}
	err := c.Publish(context.Background(), &bus.Broadcast{
		Selector: selector(o), Message: bus.Message{Data: data, Attachments: atts}, Volatile: o.volatile,
	})
	if err != nil {
		n.srv.cfg.Logger.Warn("edge: broadcast not handed to the cluster", "nsp", n.name, "error", err)
		return fmt.Errorf("%w: broadcast delivered on this node only: %w", ErrCluster, err)
	}
	return nil
}

// ClusterResult tells which other nodes took part in a cluster-wide
// operation: Missing names those that did not answer in time (empty, not
// nil, when all did or the server runs alone).
type ClusterResult = bus.Result

// RemoteSocket describes a socket anywhere in the cluster.
type RemoteSocket = bus.SocketInfo

func noCluster() bus.Result { return bus.Result{Missing: []string{}} }

// settle makes an adapter's result what the API promises (Missing never
// nil) and wraps a failure of the cluster part of operation what.
func settle(res bus.Result, what string, err error) (bus.Result, error) {
	if res.Missing == nil {
		res.Missing = []string{}
	}
	if err != nil {
		return res, fmt.Errorf("%w: %s: %w", ErrCluster, what, err)
	}
	return res, nil
}

// FetchSockets describes the selected sockets of every node. On failure of
// the cluster part it returns the local sockets and an error wrapping ErrCluster.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]RemoteSocket, ClusterResult, error) {
	n := b.nsp
	out := n.localInfos(b.opts())
	c := n.cluster()
	if c == nil || b.local {
		return out, noCluster(), nil
	}
	ctx, cancel := n.srv.requestContext(ctx)
	defer cancel()
	remote, res, err := c.FetchSockets(ctx, selector(b.opts()))
	res, err = settle(res, "fetch sockets", err)
	return append(out, remote...), res, err
}

// SocketsJoin makes the selected sockets of every node join rooms and
// returns how many matched (other nodes report their counts when their
// adapter supports it).
func (b *BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) (int, ClusterResult, error) {
	socks := b.Sockets()
	for _, s := range socks {
		s.Join(rooms...)
	}
	return b.clusterOp(ctx, len(socks), "join", func(ctx context.Context, c bus.Namespace) (int, bus.Result, error) {
		return c.Join(ctx, selector(b.opts()), rooms)
	})
}

// SocketsLeave is SocketsJoin for leaving rooms.
func (b *BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) (int, ClusterResult, error) {
	socks := b.Sockets()
	for _, s := range socks {
		s.Leave(rooms...)
	}
	return b.clusterOp(ctx, len(socks), "leave", func(ctx context.Context, c bus.Namespace) (int, bus.Result, error) {
		return c.Leave(ctx, selector(b.opts()), rooms)
	})
}

// DisconnectSockets disconnects the selected sockets of every node (close:
// also their connections).
func (b *BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) (int, ClusterResult, error) {
	socks := b.Sockets()
	for _, s := range socks {
		s.Disconnect(close)
	}
	return b.clusterOp(ctx, len(socks), "disconnect", func(ctx context.Context, c bus.Namespace) (int, bus.Result, error) {
		return c.Disconnect(ctx, selector(b.opts()), close)
	})
}

func (b *BroadcastOperator) clusterOp(ctx context.Context, local int, what string, op func(context.Context, bus.Namespace) (int, bus.Result, error)) (int, ClusterResult, error) {
	c := b.nsp.cluster()
	if c == nil || b.local {
		return local, noCluster(), nil
	}
	ctx, cancel := b.nsp.srv.requestContext(ctx)
	defer cancel()
	remote, res, err := op(ctx, c)
	res, err = settle(res, what, err)
	return local + remote, res, err
}

// AllRooms lists the rooms with members anywhere in the cluster, socket-id
// rooms included, without duplicates.
func (n *Namespace) AllRooms(ctx context.Context) ([]string, ClusterResult, error) {
	rooms := n.Rooms()
	c := n.cluster()
	if c == nil {
		slices.Sort(rooms)
		return rooms, noCluster(), nil
	}
	ctx, cancel := n.srv.requestContext(ctx)
	defer cancel()
	remote, res, err := c.AllRooms(ctx)
	rooms = append(rooms, remote...)
	slices.Sort(rooms)
	res, err = settle(res, "all rooms", err)
	return slices.Compact(rooms), res, err
}

// ServerSideHandler handles an event that another node sent with
// ServerSideEmit. ack is nil when the sender waits for no answer; otherwise
// calling it answers (once).
type ServerSideHandler func(args Args, ack func(args ...any) error)

// OnServerSide registers the handler of a server-side event, sent by other
// nodes of the cluster (Socket.IO's serverSideEmit).
func (n *Namespace) OnServerSide(event string, h ServerSideHandler) {
	n.hmu.Lock()
	if n.serverSide == nil {
		n.serverSide = make(map[string]ServerSideHandler)
	}
	n.serverSide[event] = h
	n.hmu.Unlock()
}

// ServerSideEmit sends an event to the server-side handlers of the other
// nodes (not this one), like Socket.IO's serverSideEmit.
func (n *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	c, m, err := n.serverSideMessage(event, args)
	if err != nil || c == nil {
		return err
	}
	if _, err := c.ServerSideEmit(ctx, m, nil); err != nil {
		return fmt.Errorf("%w: server-side emit: %w", ErrCluster, err)
	}
	return nil
}

// ServerSideEmitWithAck sends an event to the other nodes' server-side
// handlers and collects their answers, until every node answered or ctx
// ends (then with the answers so far).
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, ClusterResult, error) {
	c, m, err := n.serverSideMessage(event, args)
	if err != nil {
		return nil, bus.Result{}, err
	}
	if c == nil {
		return nil, noCluster(), nil
	}
	ctx, cancel := n.srv.requestContext(ctx)
	defer cancel()
	var mu sync.Mutex
	var answers []Args
	res, err := c.ServerSideEmit(ctx, m, func(r bus.Message) {
		a, perr := newArgs(r.Data, false, r.Attachments)
		if perr != nil {
			return
		}
		mu.Lock()
		answers = append(answers, a)
		mu.Unlock()
	})
	res, err = settle(res, "server-side emit", err)
	mu.Lock()
	defer mu.Unlock()
	return answers, res, err
}

func (n *Namespace) serverSideMessage(event string, args []any) (bus.Namespace, bus.Message, error) {
	if socketio.IsReserved(event) {
		return nil, bus.Message{}, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := encodeArgs(event, true, args)
	if err != nil {
		return nil, bus.Message{}, err
	}
	return n.cluster(), bus.Message{Data: data, Attachments: atts}, nil
}

// localInfos describes the selected local sockets.
func (n *Namespace) localInfos(o broadcastOpts) []bus.SocketInfo {
	socks := n.targets(o, nil)
	out := make([]bus.SocketInfo, 0, len(socks))
	node := n.srv.NodeID()
	for _, s := range socks {
		out = append(out, s.info(node))
	}
	return out
}

func (s *Socket) info(node string) bus.SocketInfo {
	data := s.DataJSON()
	if data == nil {
		data = json.RawMessage("null")
	}
	return bus.SocketInfo{ID: s.id, Node: node, Rooms: s.Rooms(), Data: data, User: s.User(), Handshake: s.handshakeJSON()}
}

// DataJSON returns the socket's data as JSON, nil when it has none or it
// cannot be encoded.
func (s *Socket) DataJSON() json.RawMessage {
	switch d := s.Data().(type) {
	case nil:
		return nil
	case json.RawMessage:
		return d
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return nil
		}
		return b
	}
}

// handshakeJSON is the handshake in the shape of Socket.IO's
// socket.handshake, which Node.js peers expect in fetchSockets answers.
func (s *Socket) handshakeJSON() json.RawMessage {
	h := s.Handshake()
	headers := make(map[string]string, len(h.Headers))
	for k, v := range h.Headers {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	query := h.Query
	if query == nil {
		query = map[string]string{}
	}
	auth := h.Auth
	if len(auth) == 0 {
		auth = json.RawMessage("{}")
	}
	b, err := json.Marshal(struct {
		Headers map[string]string `json:"headers"`
		Time    string            `json:"time"`
		Address string            `json:"address"`
		XDomain bool              `json:"xdomain"`
		Secure  bool              `json:"secure"`
		Issued  int64             `json:"issued"`
		URL     string            `json:"url"`
		Query   map[string]string `json:"query"`
		Auth    json.RawMessage   `json:"auth"`
	}{headers, h.Time.UTC().Format(time.RFC1123), h.Address, headers["origin"] != "", h.Secure, h.Time.UnixMilli(), h.URL, query, auth})
	if err != nil {
		return nil
	}
	return b
}
