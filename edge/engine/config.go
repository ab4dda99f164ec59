package engine

import (
	"log/slog"
	"time"
)

// Config configures a Server. The zero value works; each field states its default.
type Config struct {
	// PingInterval is the time between server pings. Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong. Zero means 20s.
	PingTimeout time.Duration
	// MaxPayload bounds a POST body and a WebSocket message, and is announced
	// to clients as maxPayload (Socket.IO's maxHttpBufferSize). Zero means 1e6.
	MaxPayload int64
	// UpgradeTimeout bounds the polling to WebSocket upgrade. Zero means 10s.
	UpgradeTimeout time.Duration
	// MaxQueueBytes bounds a session's outbound queue. Zero means 1 MiB.
	MaxQueueBytes int
	// WriteTimeout bounds one write to a client. Zero means 10s.
	WriteTimeout time.Duration
	// DisablePolling refuses the polling transport.
	DisablePolling bool
	// DisableWebSocket refuses the websocket transport.
	DisableWebSocket bool
	// DisableUpgrades announces no upgrades to polling clients.
	DisableUpgrades bool
	// CORSOrigins lists the origins allowed to use the server from a browser.
	// Empty allows every origin and sends no CORS headers; "*" allows every
	// origin with CORS headers; otherwise a request whose Origin is not listed
	// is refused with 403 on both transports.
	CORSOrigins []string
	// CORSCredentials sends Access-Control-Allow-Credentials: true.
	CORSCredentials bool
	// OnOpen is called for each new session before any of its messages is
	// delivered; it returns the session's Receiver. Nil accepts sessions and
	// drops their messages.
	OnOpen func(*Session) Receiver
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
	// Metrics observes the server. Nil means no metrics.
	Metrics Metrics
}

const (
	defaultPingInterval   = 25 * time.Second
	defaultPingTimeout    = 20 * time.Second
	defaultMaxPayload     = 1_000_000
	defaultUpgradeTimeout = 10 * time.Second
	defaultMaxQueueBytes  = 1 << 20
	defaultWriteTimeout   = 10 * time.Second
)

func (c Config) withDefaults() Config {
	if c.PingInterval <= 0 {
		c.PingInterval = defaultPingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = defaultPingTimeout
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = defaultMaxPayload
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = defaultUpgradeTimeout
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = defaultMaxQueueBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = defaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = nopMetrics{}
	}
	return c
}

// Receiver consumes the messages of one session.
type Receiver interface {
	// OnMessage delivers one message packet. data is owned by the receiver.
	OnMessage(data []byte, binary bool)
	// OnClose reports the end of the session with an Engine.IO close reason
	// ("transport close", "transport error", "ping timeout", "parse error",
	// "forced close", …).
	OnClose(reason string)
}

type nopReceiver struct{}

func (nopReceiver) OnMessage([]byte, bool) {}
func (nopReceiver) OnClose(string)         {}
