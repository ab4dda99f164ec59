// Command chat is the chat service of the Switchboard examples: it connects
// to the NATS server of a Switchboard cluster and answers the createRoom,
// joinRoom, leaveRoom and message events of the clients of one namespace
// (see package chatsvc for what each does).
//
//	go run ./cmd/switchboard dev --namespace /chat   # terminal 1: an edge with an embedded NATS
//	go run ./examples/chat                            # terminal 2: this service
//	node examples/client/chat-client.mjs              # terminal 3: two clients chatting
//
// Flags (or environment variables):
//
//	--nats-url  SWITCHBOARD_NATS_URL        nats://127.0.0.1:4222
//	--ns        CHAT_NS                     /chat
//	--prefix    SWITCHBOARD_SUBJECT_PREFIX  sb (the edges' --subject-prefix)
//	--queue     CHAT_QUEUE                  chat (instances in one queue group share the events)
//
// It prints READY on stdout once its subscriptions are in place, logs to
// stderr, and on SIGINT or SIGTERM finishes the events it is handling before
// it exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/examples/chat/chatsvc"
	"github.com/switchboard-rt/switchboard/service"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// env returns the environment variable key, or def when it is unset.
func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func run() error {
	natsURL := flag.String("nats-url", env("SWITCHBOARD_NATS_URL", "nats://127.0.0.1:4222"), "NATS server `URL` of the cluster")
	ns := flag.String("ns", env("CHAT_NS", "/chat"), "`namespace` whose events the service answers")
	prefix := flag.String("prefix", env("SWITCHBOARD_SUBJECT_PREFIX", "sb"), "subject `prefix`, the edges' --subject-prefix")
	queue := flag.String("queue", env("CHAT_QUEUE", "chat"), "NATS queue `group` shared by the instances of the service")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	nc, err := nats.Connect(*natsURL,
		nats.Name("switchboard-example-chat"),
		nats.MaxReconnects(-1), // ride out restarts of NATS
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil when the connection is closed
				logger.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { logger.Info("NATS reconnected", "url", c.ConnectedUrl()) }),
	)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", *natsURL, err)
	}
	defer nc.Close()

	c, err := service.New(nc, service.Options{Prefix: *prefix, Queue: *queue, Logger: logger})
	if err != nil {
		return err
	}
	if err := chatsvc.Register(c, chatsvc.Options{NS: *ns, Logger: logger}); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil { // the subscriptions are in place once the server answered
		return err
	}
	logger.Info("chat service ready", "nats", nc.ConnectedUrl(), "ns", *ns, "prefix", *prefix, "queue", *queue)
	fmt.Println("READY")

	<-ctx.Done()
	stop() // a second signal kills at once
	logger.Info("shutting down")
	// Let the handlers that are running finish (their replies and commands
	// still go out). While NATS is unreachable nothing more can be answered,
	// and draining would only wait for the NATS client's own flush timeout.
	timeout := 10 * time.Second
	if !nc.IsConnected() {
		timeout = time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Shutdown(sctx); err != nil {
		logger.Warn("shutdown incomplete", "err", err)
	}
	// Send what is still buffered (the last replies) before closing.
	if nc.IsConnected() {
		if err := nc.FlushTimeout(2 * time.Second); err != nil {
			logger.Warn("final flush", "err", err)
		}
	}
	return nil
}
