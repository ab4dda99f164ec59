package engine

import (
	"errors"
	"net/http"
	"strconv"
)

// Sentinel errors returned by Session methods.
var (
	// ErrClosed is returned when sending on a closed session.
	ErrClosed = errors.New("engine: session closed")
	// ErrSlowConsumer is returned when a send overflowed the session's queue;
	// the session has been closed.
	ErrSlowConsumer = errors.New("engine: slow consumer")
	// ErrServerClosed is returned by Shutdown callers' requests after shutdown.
	ErrServerClosed = errors.New("engine: server closed")
)

// Close reasons, as the reference server names them.
const (
	ReasonTransportClose = "transport close"
	ReasonTransportError = "transport error"
	ReasonPingTimeout    = "ping timeout"
	ReasonParseError     = "parse error"
	ReasonForcedClose    = "forced close"
	ReasonServerShutdown = "server shutting down"
	ReasonSlowConsumer   = "slow consumer"
)

// requestError is an Engine.IO handshake or request error with the
// reference's code and message.
type requestError struct {
	status  int
	code    int
	message string
}

var (
	errUnknownTransport  = &requestError{http.StatusBadRequest, 0, "Transport unknown"}
	errUnknownSID        = &requestError{http.StatusBadRequest, 1, "Session ID unknown"}
	errBadHandshake      = &requestError{http.StatusBadRequest, 2, "Bad handshake method"}
	errBadRequest        = &requestError{http.StatusBadRequest, 3, "Bad request"}
	errForbidden         = &requestError{http.StatusForbidden, 4, "Forbidden"}
	errUnsupportedProto  = &requestError{http.StatusBadRequest, 5, "Unsupported protocol version"}
	errServerUnavailable = &requestError{http.StatusServiceUnavailable, 3, "Server shutting down"}
)

var errorKinds = map[int]string{
	0: "unknown_transport", 1: "unknown_sid", 2: "bad_handshake_method", 3: "bad_request", 4: "forbidden", 5: "unsupported_protocol",
}

func (e *requestError) Error() string { return "engine: " + e.message }

func (e *requestError) write(w http.ResponseWriter) {
	body := `{"code":` + strconv.Itoa(e.code) + `,"message":` + strconv.Quote(e.message) + `}`
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(body))
}
