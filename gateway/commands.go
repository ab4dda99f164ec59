package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/edge"
)

// maxCommandAckTimeout bounds how long an emit may wait for client acks.
const maxCommandAckTimeout = 5 * time.Minute

func (g *Gateway) subscribeCommands() error {
	handlers := map[string]nats.MsgHandler{
		"emit":       g.cmdEmit,
		"join":       g.cmdRooms(true),
		"leave":      g.cmdRooms(false),
		"disconnect": g.cmdDisconnect,
		"sockets":    g.cmdSockets,
		"presence":   g.cmdPresence,
	}
	for name, h := range handlers {
		sub, err := g.nc.QueueSubscribe(g.subj.Command(name), g.cfg.Queue, h)
		if err != nil {
			return fmt.Errorf("gateway: subscribe %s: %w", name, err)
		}
		g.subs = append(g.subs, sub)
	}
	// Ordered emits: every edge, no queue group (see onBroadcast).
	sub, err := g.nc.Subscribe(g.subj.Broadcast(), g.onBroadcast)
	if err != nil {
		return fmt.Errorf("gateway: subscribe bcast: %w", err)
	}
	g.subs = append(g.subs, sub)
	return nil
}

// onBroadcast applies an emit published on P.bcast to this edge's own
// sockets. Every edge receives every such message, in the order published
// (one subscription delivers in order, and delivery to the sockets never
// blocks), so a service's consecutive emits reach each client in the order
// sent, which P.cmd.emit (one edge of the queue group per command) does not
// promise. Nothing is answered: every edge would. Bad messages are counted
// (switchboard_service_commands_total{command="bcast"}) and logged.
func (g *Gateway) onBroadcast(m *nats.Msg) {
	const name = "bcast"
	fail := func(code, msg string, args ...any) {
		g.cfg.Metrics.Command(name, code)
		g.cfg.Logger.Warn("gateway: bcast dropped: "+msg, args...)
	}
	var c contract.EmitCommand
	if err := json.Unmarshal(m.Data, &c); err != nil {
		fail(contract.CodeBadRequest, "malformed", "error", err)
		return
	}
	if c.AckTimeoutMS > 0 {
		fail(contract.CodeBadRequest, "acks need a command (P.cmd.emit)", "event", c.Event)
		return
	}
	op, args, code, err := g.emitTarget(&c)
	switch {
	case code == contract.CodeUnknownNamespace:
		// A namespace nobody has used on this edge has no sockets here.
		g.cfg.Metrics.Command(name, code)
		return
	case err != nil:
		fail(code, err.Error(), "event", c.Event)
		return
	}
	if err := op.Local().Emit(c.Event, args); err != nil {
		fail(errorCode(err), "emit failed", "event", c.Event, "error", err)
		return
	}
	g.cfg.Metrics.Command(name, "ok")
}

// emitTarget checks an emit's body and returns the operator of its
// recipients on this node (volatile if asked) and its arguments, or an
// error with its code.
func (g *Gateway) emitTarget(c *contract.EmitCommand) (*edge.BroadcastOperator, edge.Args, string, error) {
	if c.Event == "" {
		return nil, edge.Args{}, contract.CodeBadRequest, errors.New("event is required")
	}
	op, err := g.operator(c.Selector)
	if err != nil {
		return nil, edge.Args{}, contract.CodeUnknownNamespace, err
	}
	raw := c.Args
	if len(raw) == 0 {
		raw = json.RawMessage("[]")
	}
	args, err := edge.RawArgs(raw, c.Attachments)
	if err != nil {
		return nil, edge.Args{}, contract.CodeBadRequest, fmt.Errorf("args: %w", err)
	}
	if c.Volatile {
		op = op.Volatile()
	}
	return op, args, "", nil
}

// respond answers a command request (a published command has no reply subject).
func (g *Gateway) respond(m *nats.Msg, name string, v any, errCode string) {
	outcome := "ok"
	if errCode != "" {
		outcome = errCode
	}
	g.cfg.Metrics.Command(name, outcome)
	if m.Reply == "" {
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		body, _ = json.Marshal(contract.ErrorReply{Error: &contract.Error{Code: contract.CodeInternal, Message: err.Error()}})
	}
	if err := m.Respond(body); err != nil {
		g.cfg.Logger.Warn("gateway: respond", "command", name, "error", err)
	}
}

func (g *Gateway) respondError(m *nats.Msg, name, code, msg string) {
	g.respond(m, name, contract.ErrorReply{Error: &contract.Error{Code: code, Message: msg}}, code)
}

// operator resolves a selector to a broadcast operator on this node.
func (g *Gateway) operator(sel contract.Selector) (*edge.BroadcastOperator, error) {
	ns := sel.NS
	if ns == "" {
		ns = "/"
	}
	n, ok := g.srv.Namespace(ns)
	if !ok {
		return nil, fmt.Errorf("%w %q", errUnknownNamespace, ns)
	}
	op := n.To(append(append([]string(nil), sel.Rooms...), sel.SIDs...)...)
	if len(sel.Except) > 0 {
		op = op.Except(sel.Except...)
	}
	return op, nil
}

// decode parses a command body; on failure it answers bad_request.
func (g *Gateway) decode(m *nats.Msg, name string, v any) bool {
	if err := json.Unmarshal(m.Data, v); err != nil {
		g.respondError(m, name, contract.CodeBadRequest, "malformed command: "+err.Error())
		return false
	}
	return true
}

func (g *Gateway) selectOrFail(m *nats.Msg, name string, sel contract.Selector) (*edge.BroadcastOperator, bool) {
	op, err := g.operator(sel)
	if err != nil {
		g.respondError(m, name, contract.CodeUnknownNamespace, err.Error())
		return nil, false
	}
	return op, true
}

func (g *Gateway) cmdEmit(m *nats.Msg) {
	const name = "emit"
	var c contract.EmitCommand
	if !g.decode(m, name, &c) {
		return
	}
	op, args, code, err := g.emitTarget(&c)
	if err != nil {
		g.respondError(m, name, code, err.Error())
		return
	}
	if c.AckTimeoutMS <= 0 {
		// Matched counts this node's recipients: a plain emit is handed to
		// the other nodes without waiting for them.
		matched := len(op.Sockets())
		if err := op.Emit(c.Event, args); err != nil {
			g.respondError(m, name, errorCode(err), err.Error())
			return
		}
		g.respond(m, name, contract.CommandReply{OK: true, Matched: matched, MissingNodes: []string{}}, "")
		return
	}
	timeout := min(time.Duration(c.AckTimeoutMS)*time.Millisecond, maxCommandAckTimeout)
	g.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var acks []contract.Ack
		res, err := op.EmitWithAckEach(ctx, func(s *edge.Socket, a edge.Args) {
			ack := contract.Ack{Args: a.JSON(), Attachments: a.Attachments()}
			if s != nil {
				ack.SID = s.ID()
			}
			acks = append(acks, ack)
		}, c.Event, args)
		if err != nil && !errors.Is(err, edge.ErrAckTimeout) {
			g.respondError(m, name, errorCode(err), err.Error())
			return
		}
		g.respond(m, name, contract.CommandReply{
			OK: true, Matched: res.Sent, Acks: acks, TimedOut: res.Sent - res.Answered, MissingNodes: res.Missing,
		}, "")
	})
}

// async runs a command that waits for the cluster on its own goroutine, so
// that one slow command does not hold up the subscription's others.
func (g *Gateway) async(fn func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fn()
	}()
}

func (g *Gateway) requestContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), g.cfg.RequestTimeout)
}

// errorCode maps an edge error to a reply code.
func errorCode(err error) string {
	if errors.Is(err, edge.ErrCluster) {
		return contract.CodeUnavailable
	}
	return contract.CodeBadRequest
}

func (g *Gateway) cmdRooms(join bool) nats.MsgHandler {
	name := "leave"
	if join {
		name = "join"
	}
	return func(m *nats.Msg) {
		var c contract.RoomsCommand
		if !g.decode(m, name, &c) {
			return
		}
		rooms := c.Leave
		if join {
			rooms = c.Join
		}
		if len(rooms) == 0 {
			g.respondError(m, name, contract.CodeBadRequest, name+" needs rooms")
			return
		}
		op, ok := g.selectOrFail(m, name, c.Selector)
		if !ok {
			return
		}
		g.async(func() {
			ctx, cancel := g.requestContext()
			defer cancel()
			var matched int
			var res edge.ClusterResult
			var err error
			if join {
				matched, res, err = op.SocketsJoin(ctx, rooms...)
			} else {
				matched, res, err = op.SocketsLeave(ctx, rooms...)
			}
			g.commandReply(m, name, matched, res, err)
		})
	}
}

func (g *Gateway) commandReply(m *nats.Msg, name string, matched int, res edge.ClusterResult, err error) {
	if err != nil {
		g.respondError(m, name, errorCode(err), err.Error())
		return
	}
	g.respond(m, name, contract.CommandReply{OK: true, Matched: matched, MissingNodes: res.Missing}, "")
}

func (g *Gateway) cmdDisconnect(m *nats.Msg) {
	const name = "disconnect"
	var c contract.DisconnectCommand
	if !g.decode(m, name, &c) {
		return
	}
	op, ok := g.selectOrFail(m, name, c.Selector)
	if !ok {
		return
	}
	g.async(func() {
		ctx, cancel := g.requestContext()
		defer cancel()
		matched, res, err := op.DisconnectSockets(ctx, c.Close)
		g.commandReply(m, name, matched, res, err)
	})
}

func (g *Gateway) cmdSockets(m *nats.Msg) {
	const name = "sockets"
	var c contract.Selector
	if !g.decode(m, name, &c) {
		return
	}
	op, ok := g.selectOrFail(m, name, c)
	if !ok {
		return
	}
	g.async(func() {
		ctx, cancel := g.requestContext()
		defer cancel()
		socks, res, err := op.FetchSockets(ctx)
		if err != nil && len(socks) == 0 {
			g.respondError(m, name, errorCode(err), err.Error())
			return
		}
		out := make([]contract.SocketInfo, 0, len(socks))
		for _, s := range socks {
			data := s.Data
			if len(data) == 0 || string(data) == "null" {
				data = json.RawMessage("{}")
			}
			node := s.Node
			if node == "" {
				node = g.cfg.Node // an edge running without a cluster adapter
			}
			out = append(out, contract.SocketInfo{SID: s.ID, Node: node, Rooms: s.Rooms, Data: data, User: s.User})
		}
		miss := res.Missing
		g.respond(m, name, contract.SocketsReply{Sockets: out, Partial: len(miss) > 0 || err != nil, MissingNodes: miss}, "")
	})
}
