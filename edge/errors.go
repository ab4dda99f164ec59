package edge

import (
	"encoding/json"
	"errors"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrDisconnected is returned for a send or a pending ack on a socket
	// that has disconnected.
	ErrDisconnected = errors.New("edge: socket has been disconnected")
	// ErrAckTimeout is returned when an acknowledgement did not arrive in time.
	ErrAckTimeout = errors.New("edge: operation has timed out")
	// ErrReservedEvent is returned when emitting a reserved event name.
	ErrReservedEvent = errors.New("edge: reserved event name")
	// ErrSlowConsumer is returned when a send overflowed the connection's
	// queue; the connection has been closed.
	ErrSlowConsumer = errors.New("edge: slow consumer")
)

// ConnectError refuses a namespace connection. Returned by a Middleware, it
// reaches the client's connect_error handler with Message and Data.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return "edge: connect refused: " + e.Message }

func connectErrorPayload(err error) []byte {
	var ce *ConnectError
	var body struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}
	if errors.As(err, &ce) {
		body.Message, body.Data = ce.Message, ce.Data
	} else {
		body.Message = err.Error()
	}
	b, mErr := json.Marshal(body)
	if mErr != nil {
		b, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{body.Message})
	}
	return b
}

// Disconnect reasons, as the reference names them.
const (
	ReasonTransportError            = "transport error"
	ReasonTransportClose            = "transport close"
	ReasonForcedClose               = "forced close"
	ReasonPingTimeout               = "ping timeout"
	ReasonParseError                = "parse error"
	ReasonServerShuttingDown        = "server shutting down"
	ReasonForcedServerClose         = "forced server close"
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	ReasonSlowConsumer              = "slow consumer"
)

// recoverable reports whether a socket that ended with reason may be restored.
func recoverable(reason string) bool {
	switch reason {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout,
		ReasonServerShuttingDown, ReasonForcedServerClose, ReasonSlowConsumer:
		return true
	}
	return false
}
