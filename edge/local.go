package edge

import (
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// localNamespace is what a namespace offers its adapter: operations that
// other nodes apply to this node's sockets.
type localNamespace struct{ n *Namespace }

var _ bus.Local = localNamespace{}

// Broadcast delivers a remote broadcast through the same encode-once path
// as a local one: one packet encoding, the same frames queued to every
// recipient.
func (l localNamespace) Broadcast(b *bus.Broadcast) {
	if !l.n.validRemote(b.Data) {
		return
	}
	l.n.deliverEncoded(optsOf(b.Selector, b.Volatile), b.Data, b.Attachments)
}

// validRemote refuses what no client may receive: a payload that is not an
// event array, or a reserved event name.
func (n *Namespace) validRemote(data []byte) bool {
	name, err := socketio.EventName(data)
	if err == nil && !socketio.IsReserved(name) {
		return true
	}
	n.srv.cfg.Logger.Warn("edge: dropped a remote broadcast that is not a valid event", "nsp", n.name, "error", err, "event", name)
	n.srv.cfg.Metrics.Error("remote_invalid")
	return false
}

func (l localNamespace) BroadcastWithAck(b *bus.Broadcast, timeout time.Duration, ack func(bus.Message)) int {
	n := l.n
	if !n.validRemote(b.Data) {
		return 0
	}
	var mu sync.Mutex // acks arrive on the sockets' read goroutines
	sent, id := n.sendWithAck(optsOf(b.Selector, b.Volatile), b.Data, b.Attachments, func(_ *Socket, a Args, err error) {
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		ack(bus.Message{Data: a.JSON(), Attachments: a.Attachments()})
	})
	if len(sent) > 0 {
		if timeout <= 0 {
			timeout = n.srv.cfg.RequestTimeout
		}
		time.AfterFunc(timeout, func() {
			for _, s := range sent {
				s.dropAck(id)
			}
		})
	}
	return len(sent)
}

func (l localNamespace) Join(sel bus.Selector, rooms []string) int {
	socks := l.n.targets(optsOf(sel, false), nil)
	for _, s := range socks {
		s.Join(rooms...)
	}
	return len(socks)
}

func (l localNamespace) Leave(sel bus.Selector, rooms []string) int {
	socks := l.n.targets(optsOf(sel, false), nil)
	for _, s := range socks {
		s.Leave(rooms...)
	}
	return len(socks)
}

func (l localNamespace) Disconnect(sel bus.Selector, close bool) int {
	socks := l.n.targets(optsOf(sel, false), nil)
	for _, s := range socks {
		s.Disconnect(close)
	}
	return len(socks)
}

func (l localNamespace) Sockets(sel bus.Selector) []bus.SocketInfo {
	return l.n.localInfos(optsOf(sel, false))
}

func (l localNamespace) Rooms() []string { return l.n.Rooms() }

func (l localNamespace) HasRoom(room string) bool {
	n := l.n
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.rooms[room] != nil || n.sockets[room] != nil
}

func (l localNamespace) ServerSideEmit(m bus.Message, reply func(bus.Message)) {
	n := l.n
	name, err := socketio.EventName(m.Data)
	if err != nil {
		n.srv.cfg.Metrics.Error("remote_invalid")
		return
	}
	n.hmu.RLock()
	h := n.serverSide[name]
	n.hmu.RUnlock()
	if h == nil && n.parent != nil {
		n.parent.hmu.RLock()
		h = n.parent.serverSide[name]
		n.parent.hmu.RUnlock()
	}
	if h == nil {
		return // like the reference: no listener, no answer
	}
	args, err := newArgs(m.Data, true, m.Attachments)
	if err != nil {
		n.srv.cfg.Metrics.Error("remote_invalid")
		return
	}
	var ack func(...any) error
	if reply != nil {
		var once sync.Once
		ack = func(a ...any) error {
			data, atts, err := encodeArgs("", false, a)
			if err != nil {
				return err
			}
			once.Do(func() { reply(bus.Message{Data: data, Attachments: atts}) })
			return nil
		}
	}
	defer func() {
		if r := recover(); r != nil {
			n.srv.cfg.Metrics.Panic()
			n.srv.cfg.Logger.Error("edge: server-side handler panic", "nsp", n.name, "event", name, "panic", r)
		}
	}()
	h(args, ack)
}
