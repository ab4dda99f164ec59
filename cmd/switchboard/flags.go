package main

import (
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Flag names. Each flag is also read from SWITCHBOARD_<NAME> (upper case,
// dashes as underscores); a command-line flag wins over the environment.
const (
	flagAddr                     = "addr"
	flagAdminAddr                = "admin-addr"
	flagPingInterval             = "ping-interval"
	flagPingTimeout              = "ping-timeout"
	flagMaxHTTPBufferSize        = "max-http-buffer-size"
	flagMaxQueueBytes            = "max-queue-bytes"
	flagCORSOrigin               = "cors-origin"
	flagNamespace                = "namespace"
	flagNamespacePattern         = "namespace-pattern"
	flagAuthNamespace            = "auth-namespace"
	flagRecovery                 = "recovery"
	flagRecoveryMaxDisconnection = "recovery-max-disconnection"
	flagAckTimeout               = "ack-timeout"
	flagAuthTimeout              = "auth-timeout"
	flagRequestTimeout           = "request-timeout"
	flagPresenceTTL              = "presence-ttl"
	flagPresenceHeartbeat        = "presence-heartbeat"
	flagSubjectPrefix            = "subject-prefix"
	flagServiceNamespace         = "service-namespace"
	flagLogLevel                 = "log-level"
	flagLogFormat                = "log-format"
	flagShutdownTimeout          = "shutdown-timeout"
	flagDrainDelay               = "drain-delay"
	flagPprof                    = "pprof"
	flagDemoHandlers             = "demo-handlers"

	flagNATSListen = "nats-listen" // dev
	flagNATSURL    = "nats-url"    // edge
	flagNodeID     = "node-id"     // edge
)

// Help categories.
const (
	catHTTP     = "HTTP"
	catSocketIO = "Socket.IO"
	catServices = "Services (NATS gateway)"
	catPresence = "Presence"
	catNATS     = "NATS"
	catOps      = "Operations"
)

const envPrefix = "SWITCHBOARD_"

// envName returns the environment variable that sets flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func env(name string) []string { return []string{envName(name)} }

// Defaults of the shared flags.
const (
	defaultAddr              = ":3000"
	defaultPingInterval      = 25 * time.Second
	defaultPingTimeout       = 20 * time.Second
	defaultMaxHTTPBufferSize = 1_000_000
	defaultMaxQueueBytes     = 1 << 20
	defaultMaxDisconnection  = 2 * time.Minute
	defaultAckTimeout        = 10 * time.Second
	defaultAuthTimeout       = 5 * time.Second
	defaultRequestTimeout    = 5 * time.Second
	defaultPresenceTTL       = 15 * time.Second
	defaultPresenceHeartbeat = 5 * time.Second
	defaultSubjectPrefix     = "sb"
	defaultShutdownTimeout   = 10 * time.Second
	defaultNATSListen        = "127.0.0.1:4222"
	defaultNATSURL           = "nats://127.0.0.1:4222"
)

// serverFlags are the flags dev and edge share. They are built anew for each
// App: urfave/cli flags keep parse state.
func serverFlags() []cli.Flag {
	return []cli.Flag{
		// HTTP
		&cli.StringFlag{Name: flagAddr, Value: defaultAddr, EnvVars: env(flagAddr), Category: catHTTP,
			Usage: "`host:port` serving Socket.IO at /socket.io/ (and /healthz, /readyz, /metrics unless --admin-addr is set); port 0 picks a free port"},
		&cli.StringFlag{Name: flagAdminAddr, EnvVars: env(flagAdminAddr), Category: catHTTP,
			Usage: "`host:port` serving /healthz, /readyz and /metrics instead of --addr"},
		&cli.StringSliceFlag{Name: flagCORSOrigin, EnvVars: env(flagCORSOrigin), Category: catHTTP,
			Usage: "browser `origin` allowed to connect, e.g. https://app.example.com, or * for any (repeatable, or comma-separated). None: any origin, without CORS headers"},

		// Socket.IO
		&cli.DurationFlag{Name: flagPingInterval, Value: defaultPingInterval, EnvVars: env(flagPingInterval), Category: catSocketIO,
			Usage: "`duration` between server pings"},
		&cli.DurationFlag{Name: flagPingTimeout, Value: defaultPingTimeout, EnvVars: env(flagPingTimeout), Category: catSocketIO,
			Usage: "`duration` a client may take to answer a ping before it is disconnected"},
		&cli.Int64Flag{Name: flagMaxHTTPBufferSize, Value: defaultMaxHTTPBufferSize, EnvVars: env(flagMaxHTTPBufferSize), Category: catSocketIO,
			Usage: "largest message a client may send, in `bytes` (a polling POST body, a WebSocket message)"},
		&cli.IntFlag{Name: flagMaxQueueBytes, Value: defaultMaxQueueBytes, EnvVars: env(flagMaxQueueBytes), Category: catSocketIO,
			Usage: "outbound queue of one connection, in `bytes`; a client that lets it overflow is disconnected as a slow consumer"},
		&cli.StringSliceFlag{Name: flagNamespace, EnvVars: env(flagNamespace), Category: catSocketIO,
			Usage: "`name` of a namespace clients may connect to, starting with / (repeatable, or comma-separated; / always exists)"},
		&cli.StringFlag{Name: flagNamespacePattern, EnvVars: env(flagNamespacePattern), Category: catSocketIO,
			Usage: "Go `regexp` (RE2) matched against namespace names: a client connecting to a namespace that matches creates it on the fly. Unanchored unless it uses ^ and $"},
		&cli.BoolFlag{Name: flagRecovery, EnvVars: env(flagRecovery), Category: catSocketIO,
			Usage: "enable connection state recovery: a client that reconnects in time gets its id, rooms and missed broadcasts back"},
		&cli.DurationFlag{Name: flagRecoveryMaxDisconnection, Value: defaultMaxDisconnection, EnvVars: env(flagRecoveryMaxDisconnection), Category: catSocketIO,
			Usage: "`duration` a disconnected session stays recoverable (with --recovery)"},

		// Services (NATS gateway)
		&cli.StringFlag{Name: flagSubjectPrefix, Value: defaultSubjectPrefix, EnvVars: env(flagSubjectPrefix), Category: catServices,
			Usage: "first `token`s of every NATS subject of the services API: letters, digits, _ and -, dot-separated"},
		&cli.StringSliceFlag{Name: flagAuthNamespace, EnvVars: env(flagAuthNamespace), Category: catServices,
			Usage: "`namespace` whose connections an auth service must approve over NATS (P.auth.<ns>), or * for all (repeatable, or comma-separated)"},
		&cli.StringSliceFlag{Name: flagServiceNamespace, EnvVars: env(flagServiceNamespace), Category: catServices,
			Usage: "`namespace` whose client events go to services over NATS (repeatable, or comma-separated); default: every namespace"},
		&cli.DurationFlag{Name: flagAuthTimeout, Value: defaultAuthTimeout, EnvVars: env(flagAuthTimeout), Category: catServices,
			Usage: "`duration` the auth service may take to approve a connection"},
		&cli.DurationFlag{Name: flagAckTimeout, Value: defaultAckTimeout, EnvVars: env(flagAckTimeout), Category: catServices,
			Usage: "`duration` a service may take to answer a client event that asked for an acknowledgement"},
		&cli.DurationFlag{Name: flagRequestTimeout, Value: defaultRequestTimeout, EnvVars: env(flagRequestTimeout), Category: catServices,
			Usage: "`duration` a cluster request (fetch sockets, broadcast acks, commands) waits for the other nodes"},

		// Presence
		&cli.DurationFlag{Name: flagPresenceTTL, Value: defaultPresenceTTL, EnvVars: env(flagPresenceTTL), Category: catPresence,
			Usage: "`duration` of a node's presence lease: a node that stops refreshing it is considered dead after this"},
		&cli.DurationFlag{Name: flagPresenceHeartbeat, Value: defaultPresenceHeartbeat, EnvVars: env(flagPresenceHeartbeat), Category: catPresence,
			Usage: "`duration` between refreshes of a node's presence lease (less than --presence-ttl)"},

		// Operations
		&cli.StringFlag{Name: flagLogLevel, Value: "info", EnvVars: env(flagLogLevel), Category: catOps,
			Usage: "`level` of the logs written to stderr: debug, info, warn or error"},
		&cli.StringFlag{Name: flagLogFormat, Value: "text", EnvVars: env(flagLogFormat), Category: catOps,
			Usage: "`format` of the logs: text or json"},
		&cli.DurationFlag{Name: flagShutdownTimeout, Value: defaultShutdownTimeout, EnvVars: env(flagShutdownTimeout), Category: catOps,
			Usage: "`duration` a drain (SIGTERM, SIGINT) may take to disconnect clients and end requests before it cuts connections"},
		&cli.BoolFlag{Name: flagPprof, EnvVars: env(flagPprof), Category: catOps,
			Usage: "serve Go's profiler at /debug/pprof/ next to /metrics (use with --admin-addr on a private address)"},
		&cli.DurationFlag{Name: flagDrainDelay, EnvVars: env(flagDrainDelay), Category: catOps,
			Usage: "`duration` /readyz answers 503 on SIGTERM or SIGINT before the node stops accepting (lets a load balancer notice)"},
	}
}

func demoFlag(def bool) cli.Flag {
	return &cli.BoolFlag{Name: flagDemoHandlers, Value: def, EnvVars: env(flagDemoHandlers), Category: catOps,
		Usage: "install the built-in demo handlers (echo, join, broadcast; see 'switchboard help dev'); --demo-handlers=false turns them off"}
}

func devFlags() []cli.Flag {
	return append(serverFlags(),
		&cli.StringFlag{Name: flagNATSListen, Value: defaultNATSListen, EnvVars: env(flagNATSListen), Category: catNATS,
			Usage: "`host:port` of the embedded NATS server; when the port is taken another free one is used (port 0: always a free one)"},
		demoFlag(true),
	)
}

func edgeFlags() []cli.Flag {
	return append(append(append(serverFlags(), natsAuthFlags()...), clusterFlags()...),
		&cli.StringFlag{Name: flagNATSURL, Value: defaultNATSURL, EnvVars: env(flagNATSURL), Category: catNATS,
			Usage: "`URL`s of the NATS cluster, comma-separated (nats://, tls://, ws:// or wss://)"},
		&cli.StringFlag{Name: flagNodeID, EnvVars: env(flagNodeID), Category: catNATS,
			Usage: "`id` of this node in the cluster: letters, digits, _ and - (default: the host name and a random suffix)"},
		demoFlag(false),
	)
}
