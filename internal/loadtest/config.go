package loadtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Config holds what every scenario needs: where the servers are and how the
// clients connect. The zero value targets one server at 127.0.0.1:3000.
type Config struct {
	// URLs are the servers' base URLs (http://, https://, ws:// or wss://).
	// Clients are spread over them round-robin. A URL without a path gets
	// "/socket.io/"; the Engine.IO query (EIO=4&transport=websocket) is
	// always added. Empty means ["http://127.0.0.1:3000"].
	URLs []string
	// Namespace every client connects to. Zero means "/".
	Namespace string
	// Clients is the number of simulated clients. Zero means 1000. One
	// process holds at most about 19k (the open-file limit is 20k).
	Clients int
	// ConnectRate is the number of new connections started per second.
	// Zero means 2000; negative means as fast as ConnectConcurrency allows.
	ConnectRate int
	// ConnectConcurrency bounds the handshakes in progress at once. Zero
	// means 256.
	ConnectConcurrency int
	// ConnectTimeout bounds one client's dial, handshake, namespace connect
	// and (for Broadcast) room join. Zero means 10s.
	ConnectTimeout time.Duration
	// WriteTimeout bounds each frame written. Zero means 10s.
	WriteTimeout time.Duration
	// LocalAddrs are source IP addresses the clients are spread over
	// round-robin, e.g. LoopbackAddrs(4) for 127.0.0.1–127.0.0.4, to get
	// past the ~28k ephemeral ports of one source address. Empty lets the
	// kernel choose.
	LocalAddrs []string
	// ServerPIDs are the server processes whose RSS (VmRSS) and CPU time
	// (utime+stime) are sampled from /proc and summed. Empty means the
	// reports carry no server-side figures.
	ServerPIDs []int
}

// IdleConfig configures Idle.
type IdleConfig struct {
	Config
	// Settle is how long the clients stay connected, idle, before the
	// server's RSS is sampled. Zero means 5s.
	Settle time.Duration
	// Warm is the number of clients connected first, before the baseline
	// RSS sample, so that one-off growth (code paged in, heaps sized, JIT)
	// is not charged to the connections measured. Zero means Clients/10;
	// negative means none (the baseline is taken before any connect).
	Warm int
}

// BroadcastConfig configures Broadcast.
type BroadcastConfig struct {
	Config
	// Room the clients join. Zero means "bench".
	Room string
	// Rate is the number of broadcasts per second the trigger client
	// sends. Zero means as fast as Window allows.
	Rate int
	// Window bounds the broadcasts in flight: sent but not yet delivered to
	// every client (counted as undelivered messages / clients). Zero means 32.
	Window int
	// Warmup is run at the same rate before measuring. Zero means 2s;
	// negative means none.
	Warmup time.Duration
	// Duration of the measured phase. Zero means 10s.
	Duration time.Duration
	// Drain bounds the wait, after the last broadcast, for messages still in
	// flight; what has not arrived by then counts as lost. Zero means 5s.
	Drain time.Duration
	// PayloadSize is the approximate size in bytes of the broadcast
	// payload, a JSON object holding the send time and a sequence number.
	// Zero means 128.
	PayloadSize int
	// TriggerNATS, when set, sends the broadcasts from outside the
	// Socket.IO servers instead of from a trigger client: a service
	// publishing Switchboard's P.cmd.emit command ({"ns","rooms":[room],
	// "event":"msg","args":[payload]}) to this NATS URL. The servers must be
	// Switchboard edges connected to that NATS.
	TriggerNATS string
	// SubjectPrefix is the P of P.cmd.emit. Zero means "sb".
	SubjectPrefix string
}

// AckConfig configures Ack.
type AckConfig struct {
	Config
	// InFlight is the number of "echo" emits with ack each client keeps
	// outstanding. Zero means 10.
	InFlight int
	// Warmup is run before measuring. Zero means 2s; negative means none.
	Warmup time.Duration
	// Duration of the measured phase. Zero means 10s.
	Duration time.Duration
	// Drain bounds the wait for acks still outstanding at the end; those
	// that do not arrive count as lost. Zero means 5s.
	Drain time.Duration
	// PayloadSize is the approximate size in bytes of the echoed argument.
	// Zero means 128.
	PayloadSize int
}

// LoopbackAddrs returns the n source addresses 127.0.0.1 … 127.0.0.n
// (n ≤ 254) for Config.LocalAddrs.
func LoopbackAddrs(n int) []string {
	n = min(max(n, 0), 254)
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.0.%d", i+1)
	}
	return out
}

// Defaults.
const (
	defaultURL         = "http://127.0.0.1:3000"
	defaultClients     = 1000
	defaultConnectRate = 2000
	defaultConcurrency = 256
	defaultTimeout     = 10 * time.Second
	defaultSettle      = 5 * time.Second
	defaultRoom        = "bench"
	defaultWindow      = 32
	defaultWarmup      = 2 * time.Second
	defaultDuration    = 10 * time.Second
	defaultDrain       = 5 * time.Second
	defaultPayload     = 128
	defaultInFlight    = 10
)

// errConfig is wrapped by every configuration error.
var errConfig = errors.New("loadtest: bad config")

// target is one resolved server endpoint.
type target struct {
	url string // ws(s)://host/path?EIO=4&transport=websocket
}

// resolved is a Config with defaults applied and addresses parsed.
type resolved struct {
	Config
	targets []target
	locals  []*net.TCPAddr
}

func (c Config) resolve() (resolved, error) {
	r := resolved{Config: c}
	if len(r.URLs) == 0 {
		r.URLs = []string{defaultURL}
	}
	if r.Namespace == "" {
		r.Namespace = "/"
	}
	if !strings.HasPrefix(r.Namespace, "/") || strings.ContainsAny(r.Namespace, `,"\`) {
		return r, fmt.Errorf("%w: namespace %q must start with / and hold no , \" or \\", errConfig, r.Namespace)
	}
	if r.Clients == 0 {
		r.Clients = defaultClients
	}
	if r.Clients < 0 {
		return r, fmt.Errorf("%w: %d clients", errConfig, r.Clients)
	}
	if r.ConnectRate == 0 {
		r.ConnectRate = defaultConnectRate
	}
	if r.ConnectConcurrency <= 0 {
		r.ConnectConcurrency = defaultConcurrency
	}
	if r.ConnectTimeout <= 0 {
		r.ConnectTimeout = defaultTimeout
	}
	if r.WriteTimeout <= 0 {
		r.WriteTimeout = defaultTimeout
	}
	for _, s := range r.URLs {
		t, err := parseTarget(s)
		if err != nil {
			return r, err
		}
		r.targets = append(r.targets, t)
	}
	for _, s := range r.LocalAddrs {
		ip := net.ParseIP(s)
		if ip == nil {
			return r, fmt.Errorf("%w: local address %q", errConfig, s)
		}
		r.locals = append(r.locals, &net.TCPAddr{IP: ip})
	}
	return r, nil
}

func parseTarget(s string) (target, error) {
	u, err := url.Parse(s)
	if err != nil {
		return target{}, fmt.Errorf("%w: URL %q: %v", errConfig, s, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return target{}, fmt.Errorf("%w: URL %q: scheme must be http, https, ws or wss", errConfig, s)
	}
	if u.Host == "" {
		return target{}, fmt.Errorf("%w: URL %q has no host", errConfig, s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/socket.io/"
	}
	q := u.Query()
	q.Set("EIO", "4")
	q.Set("transport", "websocket")
	u.RawQuery = q.Encode()
	return target{url: u.String()}, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// warmupOr maps the Warmup convention (zero means def, negative none).
func warmupOr(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}
