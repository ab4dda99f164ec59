package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// embeddedNATS is the in-process NATS server of `switchboard dev`.
type embeddedNATS struct {
	srv *server.Server
	url string // client URL, e.g. nats://127.0.0.1:4222
}

// startEmbeddedNATS starts a NATS server on listen (host:port). When the
// port is taken it takes a free one instead, with a warning: dev never fails
// because 4222 is in use. Port 0 always takes a free one.
func startEmbeddedNATS(listen string, logger *slog.Logger) (*embeddedNATS, error) {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagNATSListen, err)
	}
	port, err := parsePort(p)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagNATSListen, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := startNATSServer(host, port)
	if err != nil && port != server.RANDOM_PORT {
		logger.Warn("embedded NATS: requested port unavailable, using a free one", "requested", listen, "err", err)
		srv, err = startNATSServer(host, server.RANDOM_PORT)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded NATS on %s: %w", listen, err)
	}
	// Install the logger only now: a failed first attempt above logs nothing
	// but the warning. NATS notices are start-up chatter, hence debug.
	srv.SetLogger(natsLogger{logger.With("component", "nats")}, logger.Enabled(context.Background(), slog.LevelDebug), false)
	return &embeddedNATS{srv: srv, url: "nats://" + displayHost(srv.Addr())}, nil
}

// startNATSServer starts a server listening on host:port, or returns why it could not.
func startNATSServer(host string, port int) (*server.Server, error) {
	srv, err := server.NewServer(&server.Options{
		ServerName:      "switchboard-dev",
		Host:            host,
		Port:            port,
		NoSigs:          true, // the command owns the signals
		NoSystemAccount: true,
	})
	if err != nil {
		return nil, err
	}
	// Start returns once the accept loop is set up or has failed to listen.
	srv.Start()
	if srv.Addr() == nil || !srv.ReadyForConnections(5*time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, errors.New("cannot listen (port in use?)")
	}
	return srv, nil
}

// connect returns the node's own connection to the embedded server, in
// process (no socket).
func (n *embeddedNATS) connect() (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(n.srv), nats.Name("switchboard dev"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	return nc, nil
}

// running is the readiness check of the embedded server.
func (n *embeddedNATS) running() error {
	if !n.srv.Running() {
		return errors.New("embedded NATS server stopped")
	}
	return nil
}

// shutdown stops the server and waits for it.
func (n *embeddedNATS) shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// natsLogger routes nats-server logs to slog. Fatalf logs an error and does
// not exit: the command decides what a failure means.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Errorf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Debugf(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Tracef(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
