// Command echo-service answers the load tool's "echo" events through NATS,
// with the Go SDK: the arguments come back as the ack, unchanged. It
// measures the event → service → ack round trip (docs/benchmarks.md):
//
//	switchboard dev --demo-handlers=false --nats-listen 127.0.0.1:14222 &
//	go run ./bench/echo-service --nats-url nats://127.0.0.1:14222 &
//	loadtest ack -clients 100 -inflight 10 -url http://127.0.0.1:3000 -pid <dev>,<service>
//
// It prints READY once subscribed and exits on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/service"
)

func main() {
	natsURL := flag.String("nats-url", "nats://127.0.0.1:4222", "NATS server `URL`")
	ns := flag.String("ns", "/", "`namespace` of the echo events")
	flag.Parse()
	if err := run(*natsURL, *ns); err != nil {
		fmt.Fprintln(os.Stderr, "echo-service:", err)
		os.Exit(1)
	}
}

func run(url, ns string) error {
	nc, err := nats.Connect(url, nats.Name("switchboard echo-service"))
	if err != nil {
		return err
	}
	defer nc.Close()
	c, err := service.New(nc, service.Options{})
	if err != nil {
		return err
	}
	if _, err := c.Handle(ns, "echo", func(_ context.Context, r *service.Request) (any, error) {
		return r.Args, nil
	}); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	fmt.Println("READY")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Shutdown(ctx)
}
