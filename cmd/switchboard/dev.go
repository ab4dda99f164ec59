package main

import (
	"github.com/urfave/cli/v2"
)

const devDescription = `Runs one Switchboard process for trying it out and for local development:

- Socket.IO (Engine.IO v4, Socket.IO v5; WebSocket and HTTP long-polling)
  at http://<--addr>/socket.io/, for the official socket.io-client;
- an embedded NATS server on --nats-listen (default 127.0.0.1:4222; when
  that port is taken, another free port is used), which backend services
  will talk to once the services gateway exists;
- /healthz, /readyz and /metrics on --addr, or on --admin-addr when set;
- rooms and broadcasts in memory (one process, no Redis).

The NATS URL and the Socket.IO URL are printed at start-up.

With --demo-handlers (on by default here) every declared namespace, and
every namespace created from --namespace-pattern, has three events:

  echo(...args)           acks its arguments (without an ack callback it
                          emits "echo" with them back to the sender)
  join(room)              joins room and acks the socket's rooms
  broadcast(room, payload) emits "msg"(payload) to every socket in room,
                          the sender included if it joined

These are also the benchmark contract of the load tool (join, broadcast,
echo). Turn them off with --demo-handlers=false.

SIGTERM or SIGINT drains: /readyz answers 503, the node stops accepting,
clients are disconnected with "server shutting down" (they reconnect
elsewhere), then the HTTP servers and NATS stop, within
--shutdown-timeout. A second signal exits at once.

Every flag can also be set with SWITCHBOARD_<FLAG> (upper case, dashes as
underscores), e.g. SWITCHBOARD_PING_INTERVAL=10s; a flag on the command
line wins.`

func devCommand() *cli.Command {
	return &cli.Command{
		Name:        "dev",
		Usage:       "run one node with an embedded NATS server (try it out, local development)",
		UsageText:   "switchboard dev [options]",
		Description: devDescription,
		Flags:       devFlags(),
		Action:      runDev,
	}
}

func runDev(c *cli.Context) error {
	cfg, ck := parseServerConfig(c)
	natsListen := c.String(flagNATSListen)
	if err := checkListenAddr(natsListen); err != nil {
		ck.bad(flagNATSListen, "%v", err)
	}
	if err := ck.err(); err != nil {
		return err
	}
	logger := newLogger(c.App.ErrWriter, cfg.LogLevel, cfg.LogFormat)
	ls, err := listen(cfg)
	if err != nil {
		return err
	}
	nats, err := startEmbeddedNATS(natsListen, logger)
	if err != nil {
		ls.close()
		return err
	}
	defer nats.shutdown()
	nc, err := nats.connect()
	if err != nil {
		ls.close()
		return err
	}
	defer nc.Close()
	sink := &presenceSink{}
	tracker, _, err := newPresence("memory", "", cfg, "dev", logger, sink)
	if err != nil {
		ls.close()
		return err
	}
	return runNode(c.Context, c.App.Writer, logger, cfg, ls, nodeOptions{
		mode:    "dev",
		checks:  []check{{name: "nats", fn: nats.running}},
		banner:  []bannerLine{{label: "NATS", value: nats.url}, {label: "Presence", value: "memory"}},
		nc:      nc,
		nodeID:  "dev",
		tracker: tracker,
		sink:    sink,
	})
}
