// Package chatsvc is the chat service of the Switchboard examples, written
// with the Go SDK (package service). It answers four client events of one
// namespace (/chat by default):
//
//	createRoom({name}, ack)  joins the caller to the room; ack {id, status: "ok"}
//	joinRoom(name, ack)      joins the caller to the room;  ack {id, ok: true}
//	leaveRoom(name, ack)     the caller leaves the room;    ack {id, ok: true}
//	message({room, text}, ack)
//	                         emits "message" {room, from, text, at} to every
//	                         socket in the room (the sender included); ack {ok: true}
//
// A refused event (an invalid room name, an empty text, a message to a room
// the caller has not joined) is answered with an error, which the client's
// ack receives as {error: {code: "service_error", message}}.
//
// The service keeps no state of its own: room memberships live in the
// cluster, which the service changes through the replies (join/leave) and
// reads with a sockets command. Any number of instances may therefore run in
// one queue group, on any machines, and the Node.js version of this service
// (examples/node-service) answers the same events identically, so the two
// may even share the group.
//
// The chat room "general" is the Socket.IO room "room-general" (its id), so
// that a client cannot join another socket's own room (named by its id).
package chatsvc

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/service"
)

// MaxTextLen is the most characters (code points) a message may have.
const MaxTextLen = 2000

// roomName is what a chat room may be called (roomRule in words).
var roomName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const roomRule = "of 1 to 64 letters, digits, '-' or '_'"

// RoomID returns the id of a chat room, which is also the Socket.IO room of
// its members.
func RoomID(name string) string { return "room-" + name }

// Options configure Register.
type Options struct {
	// NS is the namespace served, "/chat" when empty.
	NS string
	// Logger receives connections, disconnections and refused events; nil
	// discards them.
	Logger *slog.Logger
	// Now returns the time stamped on messages; nil means time.Now.
	Now func() time.Time
}

// Message is what the room's sockets receive as the "message" event.
type Message struct {
	Room string `json:"room"`
	From string `json:"from"` // the sender's user id, or its socket id without auth
	Text string `json:"text"`
	At   int64  `json:"at"` // milliseconds since the Unix epoch
}

type chat struct {
	c   *service.Client
	ns  string
	log *slog.Logger
	now func() time.Time
}

// Register subscribes the chat handlers on c. As with any NATS subscription,
// flush the connection before relying on them being in place.
func Register(c *service.Client, opts Options) error {
	s := &chat{c: c, ns: opts.NS, log: opts.Logger, now: opts.Now}
	if s.ns == "" {
		s.ns = "/chat"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for event, h := range map[string]func(context.Context, *service.Request) (any, error){
		"createRoom": s.createRoom,
		"joinRoom":   s.joinRoom,
		"leaveRoom":  s.leaveRoom,
		"message":    s.message,
	} {
		if _, err := c.Handle(s.ns, event, s.logged(h)); err != nil {
			return err
		}
	}
	if _, err := c.OnConnect(s.ns, func(_ context.Context, m *contract.Conn) {
		s.log.Info("connected", "sid", m.SID, "user", m.User, "node", m.Node, "address", m.Handshake.Address)
	}); err != nil {
		return err
	}
	_, err := c.OnDisconnect(s.ns, func(_ context.Context, m *contract.Disc) {
		s.log.Info("disconnected", "sid", m.SID, "user", m.User, "reason", m.Reason)
	})
	return err
}

// refuse returns an error whose message the client sees.
func refuse(msg string) error {
	return &contract.Error{Code: contract.CodeBadRequest, Message: msg}
}

// logged logs the events that a handler refuses or fails.
func (s *chat) logged(h func(context.Context, *service.Request) (any, error)) func(context.Context, *service.Request) (any, error) {
	return func(ctx context.Context, r *service.Request) (any, error) {
		v, err := h(ctx, r)
		if err != nil {
			s.log.Info("refused", "event", r.Event, "sid", r.SID, "err", err)
		}
		return v, err
	}
}

// roomArg returns argument 0 as a room name: a string, as in
// joinRoom("general").
func roomArg(r *service.Request) (string, error) {
	var name string
	if err := r.Args.Decode(0, &name); err != nil || !roomName.MatchString(name) {
		return "", refuse("want a room name " + roomRule)
	}
	return name, nil
}

// unavailable hides a failure of the cluster from the client (the SDK would
// pass its text on) and logs it.
func (s *chat) unavailable(r *service.Request, err error) error {
	s.log.Warn("command failed", "event", r.Event, "sid", r.SID, "err", err)
	return &contract.Error{Code: contract.CodeUnavailable, Message: "chat unavailable, try again later"}
}

func (s *chat) createRoom(_ context.Context, r *service.Request) (any, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := r.Args.Decode(0, &req); err != nil || !roomName.MatchString(req.Name) {
		return nil, refuse("want {name} " + roomRule)
	}
	r.Join(RoomID(req.Name)) // the edge applies it before the client gets the ack
	return struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}{RoomID(req.Name), "ok"}, nil
}

type roomReply struct {
	ID string `json:"id"`
	OK bool   `json:"ok"`
}

func (s *chat) joinRoom(_ context.Context, r *service.Request) (any, error) {
	name, err := roomArg(r)
	if err != nil {
		return nil, err
	}
	r.Join(RoomID(name))
	return roomReply{RoomID(name), true}, nil
}

func (s *chat) leaveRoom(_ context.Context, r *service.Request) (any, error) {
	name, err := roomArg(r)
	if err != nil {
		return nil, err
	}
	r.Leave(RoomID(name))
	return roomReply{RoomID(name), true}, nil
}

func (s *chat) message(ctx context.Context, r *service.Request) (any, error) {
	var req struct {
		Room string `json:"room"`
		Text string `json:"text"`
	}
	if err := r.Args.Decode(0, &req); err != nil {
		return nil, refuse("want {room, text}")
	}
	if !roomName.MatchString(req.Room) {
		return nil, refuse("want a room name " + roomRule)
	}
	if req.Text == "" || utf8.RuneCountInString(req.Text) > MaxTextLen {
		return nil, refuse(fmt.Sprintf("the text must have 1 to %d characters", MaxTextLen))
	}
	// Only members may speak: ask the cluster which rooms the sender is in.
	socks, err := s.c.Of(s.ns).SIDs(r.SID).Sockets(ctx)
	if err != nil {
		return nil, s.unavailable(r, err)
	}
	if len(socks.Sockets) == 0 || !slices.Contains(socks.Sockets[0].Rooms, RoomID(req.Room)) {
		return nil, refuse("join " + req.Room + " before sending to it")
	}
	from := r.User
	if from == "" {
		from = r.SID
	}
	msg := Message{Room: req.Room, From: from, Text: req.Text, At: s.now().UnixMilli()}
	if _, err := s.c.Of(s.ns).To(RoomID(req.Room)).Emit(ctx, "message", msg); err != nil {
		return nil, s.unavailable(r, err)
	}
	return struct {
		OK bool `json:"ok"`
	}{true}, nil
}
