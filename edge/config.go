package edge

import (
	"log/slog"
	"time"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/edge/engine"
	"github.com/switchboard-rt/switchboard/presence"
)

// Config configures a Server. The zero value works; each field states its default.
type Config struct {
	// PingInterval is the time between server pings. Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take. Zero means 20s.
	PingTimeout time.Duration
	// MaxHTTPBufferSize bounds one message (a POST body, a WebSocket
	// message). Zero means 1e6, like the reference's maxHttpBufferSize.
	MaxHTTPBufferSize int64
	// MaxQueueBytes bounds each connection's outbound queue; a connection
	// that overflows it is closed as a slow consumer. Zero means 1 MiB.
	MaxQueueBytes int
	// ConnectTimeout closes a connection that joins no namespace in time.
	// Zero means 45s.
	ConnectTimeout time.Duration
	// MaxAttachments bounds the binary attachments of one packet. Zero means 10.
	MaxAttachments int
	// MaxAttachmentBytes bounds the total size of one packet's attachments.
	// Zero means MaxHTTPBufferSize.
	MaxAttachmentBytes int64
	// AttachmentTimeout bounds the time between a binary packet's header and
	// its last attachment. Zero means 10s.
	AttachmentTimeout time.Duration
	// CORSOrigins and CORSCredentials: see engine.Config. Empty allows any
	// origin without CORS headers.
	CORSOrigins     []string
	CORSCredentials bool
	// DisablePolling and DisableWebSocket turn a transport off.
	DisablePolling   bool
	DisableWebSocket bool
	// Recovery enables connection state recovery: a client that lost its
	// connection gets its id, rooms, data and missed broadcasts back when
	// it reconnects within MaxDisconnection. Off by default, like the reference.
	Recovery bool
	// MaxDisconnection is how long a disconnected session stays recoverable.
	// Zero means 2 minutes.
	MaxDisconnection time.Duration
	// RecoveryRunsMiddlewares runs namespace middlewares again on recovery
	// (the reference skips them by default).
	RecoveryRunsMiddlewares bool
	// Adapter links the server to the other nodes of a cluster (bus/redis,
	// bus/nats, bus/memory). Nil means the server runs alone.
	Adapter bus.Adapter
	// Presence, when set, receives every socket's namespace membership,
	// rooms, data and user, for cluster-wide presence (presence/redis,
	// presence/memory). Nil means none.
	Presence presence.Tracker
	// NodeID names this node when there is no Adapter (with one, the
	// adapter's id is used). Empty means none.
	NodeID string
	// RequestTimeout bounds cluster requests (fetch sockets, join, leave,
	// disconnect, broadcast acks) whose context has no deadline. Zero means 5s.
	RequestTimeout time.Duration
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
	// Metrics observes the server. Nil means no metrics.
	Metrics Metrics
}

func (c Config) withDefaults() Config {
	if c.MaxHTTPBufferSize <= 0 {
		c.MaxHTTPBufferSize = 1_000_000
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = 10
	}
	if c.MaxAttachmentBytes <= 0 {
		c.MaxAttachmentBytes = c.MaxHTTPBufferSize
	}
	if c.AttachmentTimeout <= 0 {
		c.AttachmentTimeout = 10 * time.Second
	}
	if c.MaxDisconnection <= 0 {
		c.MaxDisconnection = 2 * time.Minute
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NopMetrics{}
	}
	return c
}

// Metrics observes a Server; see engine.Metrics for the transport part.
// Implementations must be safe for concurrent use and cheap.
type Metrics interface {
	engine.Metrics
	// SocketConnected and SocketDisconnected count sockets by namespace.
	SocketConnected(nsp string)
	SocketDisconnected(nsp, reason string)
	// AckTimeout counts server-to-client acks that timed out.
	AckTimeout()
	// Panic counts handler panics.
	Panic()
}

// NopMetrics is a Metrics that records nothing.
type NopMetrics struct{}

func (NopMetrics) SessionOpened(string)              {}
func (NopMetrics) SessionClosed(string, string)      {}
func (NopMetrics) Upgraded()                         {}
func (NopMetrics) UpgradeFailed(string)              {}
func (NopMetrics) PacketsIn(int, int)                {}
func (NopMetrics) PacketsOut(int, int)               {}
func (NopMetrics) SlowConsumer()                     {}
func (NopMetrics) Error(string)                      {}
func (NopMetrics) SocketConnected(string)            {}
func (NopMetrics) SocketDisconnected(string, string) {}
func (NopMetrics) AckTimeout()                       {}
func (NopMetrics) Panic()                            {}
