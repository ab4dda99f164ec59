package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/urfave/cli/v2"
)

const edgeDescription = `Runs one node of a Switchboard cluster: it holds the Socket.IO sessions of
the clients that reach it and connects to the NATS cluster at --nats-url.

/readyz answers 200 once the node serves Socket.IO and is connected to
NATS, and 503 with a JSON body naming what is not ready otherwise (NATS
down or reconnecting, shutting down). The node starts even when NATS is
unreachable and keeps reconnecting. /healthz answers 200 while the process
runs. Both, and /metrics, are on --addr, or on --admin-addr when set.

--node-id names the node in the cluster (default: the host name and a
random suffix). A node id that a live node already uses is refused at
start-up.

--adapter chooses how broadcasts and cluster requests reach the other
edges: redis (default; Redis pub/sub in the wire format of
@socket.io/redis-adapter, so Node.js socket.io servers with that adapter
and @socket.io/redis-emitter publishers share the cluster), nats
(interest-based subjects on the services NATS: a node receives only the
broadcasts of rooms it has members of) or memory (this node alone).
Cluster requests (fetch sockets, join/leave/disconnect, broadcast acks)
wait at most --request-timeout and return partial results naming the
nodes that did not answer. /readyz also fails while the adapter has lost
its connection; subscriptions are restored when it comes back.

SIGTERM or SIGINT drains: /readyz answers 503 (for --drain-delay), the
node stops accepting, clients are disconnected with "server shutting
down" so that they reconnect to another node, within --shutdown-timeout.
A second signal exits at once.

Every flag can also be set with SWITCHBOARD_<FLAG> (upper case, dashes as
underscores), e.g. SWITCHBOARD_NATS_URL=nats://nats:4222; a flag on the
command line wins.`

func edgeCommand() *cli.Command {
	return &cli.Command{
		Name:        "edge",
		Usage:       "run a cluster node connected to NATS",
		UsageText:   "switchboard edge --nats-url nats://host:4222 [options]",
		Description: edgeDescription,
		Flags:       edgeFlags(),
		Action:      runEdge,
	}
}

func runEdge(c *cli.Context) error {
	cfg, ck := parseServerConfig(c)
	natsURL := c.String(flagNATSURL)
	if err := checkNATSURLs(natsURL); err != nil {
		ck.bad(flagNATSURL, "%v", err)
	}
	nodeID := c.String(flagNodeID)
	if nodeID == "" {
		nodeID = defaultNodeID()
	} else if err := checkNodeID(nodeID); err != nil {
		ck.bad(flagNodeID, "%v", err)
	}
	cc := parseClusterConfig(c, ck)
	if err := ck.err(); err != nil {
		return err
	}
	logger := newLogger(c.App.ErrWriter, cfg.LogLevel, cfg.LogFormat).With("node", nodeID)
	ls, err := listen(cfg)
	if err != nil {
		return err
	}
	authOpts, err := natsAuthOptions(c)
	if err != nil {
		ls.close()
		return err
	}
	nc, err := connectNATS(natsURL, nodeID, logger, authOpts...)
	if err != nil {
		ls.close()
		return err
	}
	defer nc.Close()
	quietRedis(logger)
	adapter, collectors, err := newAdapter(c.Context, cc, cfg, nc, nodeID, logger)
	if err != nil {
		ls.close()
		return err
	}
	sink := &presenceSink{}
	tracker, pcollectors, err := newPresence(cc.Presence, cc.RedisURL, cfg, nodeID, logger, sink)
	if err != nil {
		_ = adapter.Close()
		ls.close()
		return err
	}
	collectors = append(collectors, pcollectors...)
	banner := []bannerLine{{label: "NATS", value: redactURLs(natsURL)}, {label: "Node", value: nodeID}, {label: "Adapter", value: cc.Adapter}}
	banner = append(banner, bannerLine{label: "Presence", value: cc.Presence})
	if cc.needsRedis() {
		banner = append(banner, bannerLine{label: "Redis", value: redactURLs(cc.RedisURL)})
	}
	return runNode(c.Context, c.App.Writer, logger, cfg, ls, nodeOptions{
		mode:       "edge",
		checks:     []check{{name: "nats", fn: natsReady(nc)}, {name: "adapter", fn: adapter.Ready}},
		banner:     banner,
		nc:         nc,
		nodeID:     nodeID,
		adapter:    adapter,
		collectors: collectors,
		tracker:    tracker,
		sink:       sink,
	})
}

// connectNATS connects to the cluster, retrying in the background for as
// long as the node runs: an unreachable NATS makes the node not ready, not
// fail.
func connectNATS(urls, nodeID string, logger *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	logger = logger.With("component", "nats")
	nc, err := nats.Connect(urls, append([]nats.Option{
		nats.Name("switchboard edge " + nodeID),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ConnectHandler(func(nc *nats.Conn) {
			logger.Info("connected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			logger.Error("async error", "err", err)
		}),
	}, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagNATSURL, err)
	}
	if nc.IsConnected() {
		logger.Info("connected", "url", nc.ConnectedUrlRedacted())
	} else {
		logger.Warn("not connected yet; retrying in the background", "url", redactURLs(urls))
	}
	return nc, nil
}

func natsReady(nc *nats.Conn) func() error {
	return func() error {
		if nc.IsConnected() {
			return nil
		}
		return errors.New("not connected (" + strings.ToLower(nc.Status().String()) + ")")
	}
}

// defaultNodeID returns the first label of the host name (as a subject
// token) and a random suffix, e.g. "web-3-5f2a9c1e".
func defaultNodeID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	host = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, host)
	if len(host) > 40 {
		host = host[:40]
	}
	if host == "" {
		return "edge-" + suffix
	}
	return host + "-" + suffix
}

// redactURLs hides credentials in a comma-separated list of URLs.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "(invalid URL)"
			continue
		}
		if u.User != nil {
			u.User = url.User("redacted")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
