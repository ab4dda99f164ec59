package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
)

// Request is one client event handed to a handler.
type Request struct {
	// SID is the id of the client's socket (also the name of a room holding
	// only that socket).
	SID string
	// NS is the namespace, e.g. "/chat".
	NS string
	// Event is the event name.
	Event string
	// Node is the id of the edge node holding the socket.
	Node string
	// User is the user id set when the socket was authenticated, if any.
	User string
	// Data is the socket's data (set by HandleAuth), raw JSON; nil if none.
	Data json.RawMessage
	// Args are the event's arguments.
	Args Args

	wantsAck    bool
	join, leave []string
}

// WantsAck reports whether the client asked for an acknowledgement, that is
// whether the handler's result reaches it.
func (r *Request) WantsAck() bool { return r.wantsAck }

// Join adds the socket to rooms when the handler returns without error.
// With an ack, the edge applies it before it sends the ack; without one, the
// Client publishes a join command after the handler returned.
func (r *Request) Join(rooms ...string) { r.join = append(r.join, rooms...) }

// Leave removes the socket from rooms when the handler returns without
// error, like Join. With an ack, the edge applies the leaves before the
// joins; without one, the two commands may be applied in any order.
func (r *Request) Leave(rooms ...string) { r.leave = append(r.leave, rooms...) }

// Handle handles the client events named event in namespace ns, e.g.
// Handle("/chat", "createRoom", h) subscribes to sb.ev.chat.createRoom. The
// name "*" stands for every event of ns, or for every namespace; a client
// event literally named "*" cannot be told apart from it here.
//
// When the client asked for an ack (the event is a NATS request), what h
// returns becomes the reply:
//
//   - a value v: the ack has the single argument v, encoded like
//     encoding/json, with []byte values anywhere in it as binary
//     attachments and json.RawMessage written verbatim;
//   - Values{a, b, …}: the ack arguments a, b, …;
//   - nil: an ack with no argument;
//   - Args (e.g. r.Args): exactly those arguments;
//   - a non-nil error: an error reply. Its code is the Code of a
//     *contract.Error found with errors.As (contract.CodeServiceError when
//     that is empty or there is none; contract.CodeTimeout for an error
//     wrapping context.DeadlineExceeded) and its message the error's Message
//     or Error() text, which reaches the client: wrap internal errors in a
//     *contract.Error to choose what it sees. (The client's ack carries the
//     code service_error whatever the code; see docs/nats-api.md.)
//
// A panic in h is recovered, logged and answered as a service_error. An
// event that does not decode is answered with a bad_request error without
// calling h. When the client asked for no ack (a NATS publish), the result is
// dropped and errors are logged.
func (c *Client) Handle(ns, event string, h func(ctx context.Context, r *Request) (any, error)) (*Subscription, error) {
	subject := c.nsSubject("ev", ns) + "."
	if event == "*" {
		subject += "*"
	} else {
		subject += contract.NameToken(event)
	}
	refusal, _ := json.Marshal(errorReply(contract.CodeUnavailable, "service is shutting down"))
	return c.subscribe(subject, refusal, func(ctx context.Context, m *nats.Msg) {
		c.handleEvent(ctx, m, h)
	})
}

func (c *Client) handleEvent(ctx context.Context, m *nats.Msg, h func(context.Context, *Request) (any, error)) {
	var ev contract.Event
	if err := ev.UnmarshalJSON(m.Data); err != nil {
		c.log.Warn("service: undecodable event", "subject", m.Subject, "err", err)
		c.respond(m, errorReply(contract.CodeBadRequest, "malformed event: "+err.Error()))
		return
	}
	args, err := newArgs(ev.Args, ev.Attachments)
	if err != nil {
		c.log.Warn("service: undecodable event arguments", "subject", m.Subject, "sid", ev.SID, "err", err)
		c.respond(m, errorReply(contract.CodeBadRequest, "malformed event arguments: "+err.Error()))
		return
	}
	r := &Request{
		SID: ev.SID, NS: ev.NS, Event: ev.Event, Node: ev.Node, User: ev.User, Data: ev.Data,
		Args: args, wantsAck: m.Reply != "",
	}
	v, err := callHandler(func() (any, error) { return h(ctx, r) })
	if err != nil {
		if errors.Is(err, errPanic) || !r.wantsAck {
			c.log.Warn("service: handler failed", "ns", r.NS, "event", r.Event, "sid", r.SID, "err", err)
		}
		code, msg := contract.CodeServiceError, err.Error()
		var ce *contract.Error
		if errors.As(err, &ce) {
			msg = ce.Message
			if ce.Code != "" {
				code = ce.Code
			}
		}
		switch {
		case errors.Is(err, errPanic):
			msg = "internal error"
		case ce == nil && errors.Is(err, context.DeadlineExceeded):
			code = contract.CodeTimeout
		}
		c.respond(m, errorReply(code, msg))
		return
	}
	if !r.wantsAck {
		c.applyRooms(r)
		return
	}
	reply := contract.EventReply{Join: r.join, Leave: r.leave}
	if reply.Args, reply.Attachments, err = encodeArgs(v); err != nil {
		c.log.Warn("service: cannot encode reply", "ns", r.NS, "event", r.Event, "err", err)
		c.respond(m, errorReply(contract.CodeServiceError, "cannot encode the reply"))
		return
	}
	c.respond(m, reply)
}

// applyRooms sends the joins and leaves of a request without ack as
// commands on the socket.
func (c *Client) applyRooms(r *Request) {
	sel := contract.Selector{NS: r.NS, SIDs: []string{r.SID}}
	if len(r.leave) > 0 {
		c.publishCommand("leave", contract.RoomsCommand{Selector: sel, Leave: r.leave})
	}
	if len(r.join) > 0 {
		c.publishCommand("join", contract.RoomsCommand{Selector: sel, Join: r.join})
	}
}

func (c *Client) publishCommand(name string, body any) {
	b, err := json.Marshal(body)
	if err == nil {
		err = c.nc.Publish(c.subj.Command(name), b)
	}
	if err != nil {
		c.log.Warn("service: command failed", "command", name, "err", err)
	}
}

// errPanic marks the error of a recovered panic.
var errPanic = errors.New("service: handler panicked")

// callHandler calls f, turning a panic into an error wrapping errPanic.
func callHandler[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v\n%s", errPanic, p, debug.Stack())
		}
	}()
	return f()
}

func errorReply(code, message string) contract.ErrorReply {
	return contract.ErrorReply{Error: &contract.Error{Code: code, Message: message}}
}

// respond sends body as the JSON reply of m, if m is a request. A reply too
// large for NATS is replaced by a too_large error.
func (c *Client) respond(m *nats.Msg, body any) {
	if m.Reply == "" {
		return
	}
	var b []byte
	var err error
	if r, ok := body.(contract.EventReply); ok {
		b = r.AppendJSON(nil) // the hot path: no reflection
	} else {
		b, err = json.Marshal(body)
	}
	if err != nil {
		c.log.Warn("service: cannot encode reply", "subject", m.Subject, "err", err)
		b, _ = json.Marshal(errorReply(contract.CodeServiceError, "cannot encode the reply"))
	}
	err = c.nc.Publish(m.Reply, b)
	if errors.Is(err, nats.ErrMaxPayload) {
		b, _ = json.Marshal(errorReply(contract.CodeTooLarge, fmt.Sprintf("reply of %d bytes exceeds the NATS payload limit", len(b))))
		err = c.nc.Publish(m.Reply, b)
	}
	if err != nil {
		c.log.Warn("service: reply failed", "subject", m.Subject, "err", err)
	}
}
