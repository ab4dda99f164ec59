package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// Target selects the sockets a command acts on. Build one with Client.Of or
// Client.Select and narrow it with To, SIDs and Except; each method returns a
// new Target, so one may be kept and reused. The zero Target is not usable.
//
//	c.Of("/chat").To("general").Except("muted").Emit(ctx, "msg", "hello")
type Target struct {
	c        *Client
	sel      contract.Selector
	volatile bool
}

// Of returns the Target of every socket of namespace ns ("/" for the root
// namespace; a missing leading "/" is added).
func (c *Client) Of(ns string) Target {
	return Target{c: c, sel: contract.Selector{NS: normalizeNS(ns)}}
}

// Select returns the Target of the sockets sel selects.
func (c *Client) Select(sel contract.Selector) Target {
	sel.NS = normalizeNS(sel.NS)
	sel.Rooms, sel.SIDs, sel.Except = slices.Clone(sel.Rooms), slices.Clone(sel.SIDs), slices.Clone(sel.Except)
	return Target{c: c, sel: sel}
}

// To adds rooms: the Target selects the sockets in any of them (or with one
// of the SIDs). Without rooms and SIDs, it selects the whole namespace.
func (t Target) To(rooms ...string) Target {
	t.sel.Rooms = append(slices.Clip(t.sel.Rooms), rooms...)
	return t
}

// SIDs adds sockets by id.
func (t Target) SIDs(sids ...string) Target {
	t.sel.SIDs = append(slices.Clip(t.sel.SIDs), sids...)
	return t
}

// Except removes the sockets in any of rooms.
func (t Target) Except(rooms ...string) Target {
	t.sel.Except = append(slices.Clip(t.sel.Except), rooms...)
	return t
}

// Volatile marks emits as volatile: sockets that cannot take them at once
// (not connected, or their queue is busy) miss them.
func (t Target) Volatile() Target {
	t.volatile = true
	return t
}

// Selector returns the selector of the Target.
func (t Target) Selector() contract.Selector { return t.sel }

// Emit sends event with args to the selected sockets and waits for the edge
// that handles the command to answer (Matched counts the sockets reached,
// MissingNodes the nodes that did not answer it). Args are encoded like a
// handler's reply values: []byte anywhere becomes an attachment.
func (t Target) Emit(ctx context.Context, event string, args ...any) (*contract.CommandReply, error) {
	cmd, err := t.emitCommand(event, args)
	if err != nil {
		return nil, err
	}
	var reply contract.CommandReply
	if err := t.c.request(ctx, 0, "emit", cmd, &reply); err != nil {
		return nil, err
	}
	if err := checkReply(reply.Error, reply.OK, "emit"); err != nil {
		return nil, err
	}
	return &reply, nil
}

// Publish sends event with args to the selected sockets without waiting,
// on P.bcast: every edge receives it and delivers it to its own sockets, so
// consecutive Publish calls of one Client reach each socket in the order
// made (Emit's commands are each handled by one edge and may overtake each
// other). Nothing tells whether an edge received it. It reaches Switchboard
// edges only: in a cluster shared with Node.js socket.io servers, use Emit to
// reach their clients too.
func (t Target) Publish(event string, args ...any) error {
	cmd, err := t.emitCommand(event, args)
	if err != nil {
		return err
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return fmt.Errorf("service: publish: %w", err)
	}
	if err := t.c.nc.Publish(t.c.subj.Broadcast(), b); err != nil {
		return fmt.Errorf("service: publish: %w", err)
	}
	return nil
}

// Ack is one socket's answer to EmitWithAck.
type Ack struct {
	SID  string
	Args Args
}

// EmitWithAck sends event with args to the selected sockets, asking each for
// an acknowledgement within timeout, and returns the acks that arrived, with
// the command's reply (Matched, TimedOut, MissingNodes). The request waits
// for timeout plus Options.Timeout, or until ctx ends. timeout must be
// positive; it is sent in whole milliseconds, rounded up.
func (t Target) EmitWithAck(ctx context.Context, timeout time.Duration, event string, args ...any) ([]Ack, *contract.CommandReply, error) {
	if timeout <= 0 {
		return nil, nil, errors.New("service: EmitWithAck timeout must be positive")
	}
	cmd, err := t.emitCommand(event, args)
	if err != nil {
		return nil, nil, err
	}
	cmd.AckTimeoutMS = int((timeout + time.Millisecond - 1) / time.Millisecond)
	var reply contract.CommandReply
	if err := t.c.request(ctx, timeout, "emit", cmd, &reply); err != nil {
		return nil, nil, err
	}
	if err := checkReply(reply.Error, reply.OK, "emit"); err != nil {
		return nil, nil, err
	}
	acks := make([]Ack, 0, len(reply.Acks))
	for _, a := range reply.Acks {
		args, err := newArgs(a.Args, a.Attachments)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: emit: ack of %s: %w", ErrBadReply, a.SID, err)
		}
		acks = append(acks, Ack{SID: a.SID, Args: args})
	}
	return acks, &reply, nil
}

func (t Target) emitCommand(event string, args []any) (contract.EmitCommand, error) {
	if t.c == nil {
		return contract.EmitCommand{}, errors.New("service: zero Target")
	}
	if socketio.IsReserved(event) {
		return contract.EmitCommand{}, fmt.Errorf("service: %w %q", socketio.ErrReservedEvent, event)
	}
	data, atts, err := socketio.AppendAckData(nil, args)
	if err != nil {
		return contract.EmitCommand{}, fmt.Errorf("service: emit %q: %w", event, err)
	}
	return contract.EmitCommand{Selector: t.sel, Event: event, Args: data, Attachments: atts, Volatile: t.volatile}, nil
}

// Join makes the selected sockets join rooms.
func (t Target) Join(ctx context.Context, rooms ...string) (*contract.CommandReply, error) {
	return t.command(ctx, "join", contract.RoomsCommand{Selector: t.sel, Join: rooms})
}

// Leave makes the selected sockets leave rooms.
func (t Target) Leave(ctx context.Context, rooms ...string) (*contract.CommandReply, error) {
	return t.command(ctx, "leave", contract.RoomsCommand{Selector: t.sel, Leave: rooms})
}

// Disconnect disconnects the selected sockets from the namespace; with
// close, their clients' whole connections are closed (every namespace).
func (t Target) Disconnect(ctx context.Context, close bool) (*contract.CommandReply, error) {
	return t.command(ctx, "disconnect", contract.DisconnectCommand{Selector: t.sel, Close: close})
}

func (t Target) command(ctx context.Context, name string, cmd any) (*contract.CommandReply, error) {
	if t.c == nil {
		return nil, errors.New("service: zero Target")
	}
	var reply contract.CommandReply
	if err := t.c.request(ctx, 0, name, cmd, &reply); err != nil {
		return nil, err
	}
	if err := checkReply(reply.Error, reply.OK, name); err != nil {
		return nil, err
	}
	return &reply, nil
}

// Sockets lists the selected sockets across the cluster. A reply with
// Partial set lacks the sockets of MissingNodes, which did not answer.
func (t Target) Sockets(ctx context.Context) (*contract.SocketsReply, error) {
	if t.c == nil {
		return nil, errors.New("service: zero Target")
	}
	var reply contract.SocketsReply
	if err := t.c.request(ctx, 0, "sockets", t.sel, &reply); err != nil {
		return nil, err
	}
	if err := checkReply(reply.Error, true, "sockets"); err != nil {
		return nil, err
	}
	return &reply, nil
}

// checkReply turns an error reply into a Go error wrapping *contract.Error.
func checkReply(e *contract.Error, ok bool, name string) error {
	switch {
	case e != nil:
		return fmt.Errorf("service: %s: %w", name, e)
	case !ok:
		return fmt.Errorf("%w: %s: neither ok nor error", ErrBadReply, name)
	}
	return nil
}

// request sends cmd on P.cmd.<name> and decodes the reply into reply. It
// waits at most extra+Options.Timeout, or until ctx ends.
func (c *Client) request(ctx context.Context, extra time.Duration, name string, cmd, reply any) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return fmt.Errorf("service: %s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, extra+c.opts.Timeout)
	defer cancel()
	m, err := c.nc.RequestWithContext(ctx, c.subj.Command(name), b)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return fmt.Errorf("%w (%w): %s", ErrNoEdge, err, name)
		}
		return fmt.Errorf("service: %s: %w", name, err)
	}
	if err := json.Unmarshal(m.Data, reply); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadReply, name, err)
	}
	return nil
}
