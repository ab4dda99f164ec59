// Command loadtest runs one load-generator scenario against a Socket.IO server
// that implements the benchmark contract (see package loadtest). It is a
// stand-in until the scenarios are wired into `switchboard bench`.
//
//	loadtest idle      -url http://127.0.0.1:3000 -clients 10000 -pid 1234
//	loadtest broadcast -url http://127.0.0.1:3000 -clients 1000 -rate 0 -pid 1234
//	loadtest ack       -url http://127.0.0.1:3000 -clients 100 -inflight 10 -pid 1234
//
// Every run stops by itself: the scenario's own durations bound it, and
// -timeout bounds the whole command.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-rt/switchboard/internal/loadtest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("usage: loadtest idle|broadcast|ack [flags] (-h for flags)")
	}
	mode := args[0]
	fs := flag.NewFlagSet("loadtest "+mode, flag.ContinueOnError)
	var (
		urls     = fs.String("url", "http://127.0.0.1:3000", "server base URLs, comma-separated (clients spread round-robin)")
		ns       = fs.String("ns", "/", "namespace")
		clients  = fs.Int("clients", 1000, "number of clients")
		rate     = fs.Int("connect-rate", 2000, "new connections per second (negative: unlimited)")
		conc     = fs.Int("connect-concurrency", 256, "handshakes in progress at once")
		sources  = fs.Int("sources", 0, "spread client source addresses over 127.0.0.1..127.0.0.N (0: kernel's choice)")
		pids     = fs.String("pid", "", "server PIDs to sample from /proc, comma-separated")
		asJSON   = fs.Bool("json", false, "print the report as JSON")
		timeout  = fs.Duration("timeout", 5*time.Minute, "hard limit for the whole run")
		settle   = fs.Duration("settle", 5*time.Second, "idle: time connected before sampling RSS")
		warm     = fs.Int("warm", 0, "idle: clients connected before the baseline RSS sample (0: clients/10, negative: none)")
		room     = fs.String("room", "bench", "broadcast: room")
		bps      = fs.Int("rate", 0, "broadcast: broadcasts per second (0: max, bounded by -window)")
		window   = fs.Int("window", 32, "broadcast: broadcasts in flight at most")
		inflight = fs.Int("inflight", 10, "ack: emits with ack in flight per client")
		warmup   = fs.Duration("warmup", 2*time.Second, "broadcast, ack: warmup before measuring (negative: none)")
		duration = fs.Duration("duration", 10*time.Second, "broadcast, ack: measured time")
		drain    = fs.Duration("drain", 5*time.Second, "broadcast, ack: wait for stragglers")
		payload  = fs.Int("payload", 128, "broadcast, ack: payload size in bytes")
		trigNATS = fs.String("trigger-nats", "", "broadcast: send the broadcasts as a service would, P.cmd.emit on this NATS URL (Switchboard edges only)")
		prefix   = fs.String("subject-prefix", "sb", "broadcast: subject prefix P of P.cmd.emit with -trigger-nats")
		cpuprof  = fs.String("cpuprofile", "", "write a CPU profile of the load generator to this file")
	)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg := loadtest.Config{
		URLs:               strings.Split(*urls, ","),
		Namespace:          *ns,
		Clients:            *clients,
		ConnectRate:        *rate,
		ConnectConcurrency: *conc,
	}
	if *sources > 0 {
		cfg.LocalAddrs = loadtest.LoopbackAddrs(*sources)
	}
	if *pids != "" {
		for _, s := range strings.Split(*pids, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("bad -pid %q", s)
			}
			cfg.ServerPIDs = append(cfg.ServerPIDs, pid)
		}
	}

	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var (
		report fmt.Stringer
		err    error
	)
	switch mode {
	case "idle":
		report, err = loadtest.Idle(ctx, loadtest.IdleConfig{Config: cfg, Settle: *settle, Warm: *warm})
	case "broadcast":
		report, err = loadtest.Broadcast(ctx, loadtest.BroadcastConfig{
			Config: cfg, Room: *room, Rate: *bps, Window: *window,
			Warmup: *warmup, Duration: *duration, Drain: *drain, PayloadSize: *payload,
			TriggerNATS: *trigNATS, SubjectPrefix: *prefix,
		})
	case "ack":
		report, err = loadtest.Ack(ctx, loadtest.AckConfig{
			Config: cfg, InFlight: *inflight,
			Warmup: *warmup, Duration: *duration, Drain: *drain, PayloadSize: *payload,
		})
	default:
		return fmt.Errorf("unknown mode %q: want idle, broadcast or ack", mode)
	}
	if err != nil {
		if report != nil {
			fmt.Fprint(os.Stderr, report)
		}
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	fmt.Print(report)
	return nil
}
