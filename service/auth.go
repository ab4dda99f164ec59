package service

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
)

// AuthResult accepts a connection.
type AuthResult struct {
	// Data becomes the socket's data, encoded with encoding/json; services
	// see it in every later message about the socket. Nil sends none.
	Data any
	// User is the id of the authenticated user, if any.
	User string
	// Join lists rooms the socket joins on connection.
	Join []string
}

// ConnectError refuses a connection. Returned by a HandleAuth handler, it
// reaches the client's connect_error handler with Message and Data (encoded
// with encoding/json).
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return "service: connection refused: " + e.Message }

// authUnavailable is the message the edges also use when no answer came.
const authUnavailable = "authentication unavailable"

// HandleAuth answers the authentication requests of namespace ns ("*" for
// every namespace); the edges send them for the namespaces configured to
// require it. A nil error accepts the connection with the result (nil
// accepts it without data, user or rooms). An error refuses it: a
// *ConnectError (found with errors.As) with its Message and Data, any other
// error with its Error() text as the message. A panic is recovered, logged
// and refuses with the message "authentication unavailable".
func (c *Client) HandleAuth(ns string, h func(ctx context.Context, r *contract.AuthRequest) (*AuthResult, error)) (*Subscription, error) {
	refusal, _ := json.Marshal(contract.AuthReply{Message: authUnavailable})
	return c.subscribe(c.nsSubject("auth", ns), refusal, func(ctx context.Context, m *nats.Msg) {
		c.respond(m, c.handleAuth(ctx, m, h))
	})
}

func (c *Client) handleAuth(ctx context.Context, m *nats.Msg, h func(context.Context, *contract.AuthRequest) (*AuthResult, error)) contract.AuthReply {
	var req contract.AuthRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		c.log.Warn("service: undecodable auth request", "subject", m.Subject, "err", err)
		return contract.AuthReply{Message: "malformed authentication request"}
	}
	res, err := callHandler(func() (*AuthResult, error) { return h(ctx, &req) })
	if err != nil {
		if errors.Is(err, errPanic) {
			c.log.Warn("service: auth handler failed", "ns", req.NS, "sid", req.SID, "err", err)
			return contract.AuthReply{Message: authUnavailable}
		}
		reply := contract.AuthReply{Message: err.Error()}
		var ce *ConnectError
		if errors.As(err, &ce) {
			reply.Message = ce.Message
			if reply.Data, err = marshalData(ce.Data); err != nil {
				c.log.Warn("service: cannot encode ConnectError.Data", "ns", req.NS, "err", err)
			}
		}
		return reply
	}
	reply := contract.AuthReply{OK: true}
	if res != nil {
		reply.User, reply.Join = res.User, res.Join
		if reply.Data, err = marshalData(res.Data); err != nil {
			c.log.Warn("service: cannot encode AuthResult.Data", "ns", req.NS, "err", err)
			return contract.AuthReply{Message: authUnavailable}
		}
	}
	return reply
}

// marshalData encodes v, nil for nil.
func marshalData(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// OnConnect calls fn for each socket that connects to namespace ns ("*" for
// every namespace), once it can receive emits. A panic in fn is recovered
// and logged.
func (c *Client) OnConnect(ns string, fn func(ctx context.Context, m *contract.Conn)) (*Subscription, error) {
	return subscribeNotice(c, c.nsSubject("conn", ns), fn)
}

// OnDisconnect calls fn for each socket that leaves namespace ns ("*" for
// every namespace). A panic in fn is recovered and logged.
func (c *Client) OnDisconnect(ns string, fn func(ctx context.Context, m *contract.Disc)) (*Subscription, error) {
	return subscribeNotice(c, c.nsSubject("disc", ns), fn)
}

// subscribeNotice subscribes fn to the notices (publishes) of subject.
func subscribeNotice[T any](c *Client, subject string, fn func(context.Context, *T)) (*Subscription, error) {
	return c.subscribe(subject, nil, func(ctx context.Context, m *nats.Msg) {
		v := new(T)
		if err := json.Unmarshal(m.Data, v); err != nil {
			c.log.Warn("service: undecodable notice", "subject", m.Subject, "err", err)
			return
		}
		if _, err := callHandler(func() (struct{}, error) { fn(ctx, v); return struct{}{}, nil }); err != nil {
			c.log.Warn("service: notice handler failed", "subject", m.Subject, "err", err)
		}
	})
}
