package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/edge"
	"github.com/switchboard-rt/switchboard/gateway"
	"github.com/switchboard-rt/switchboard/internal/memtrim"
	"github.com/switchboard-rt/switchboard/internal/metrics"
	"github.com/switchboard-rt/switchboard/presence"
)

// socketIOPath is where the Socket.IO endpoint is mounted.
const socketIOPath = "/socket.io/"

// nodeOptions is what differs between dev and edge.
type nodeOptions struct {
	mode   string       // "dev" or "edge"
	checks []check      // readiness conditions beyond "serving and not draining"
	banner []bannerLine // printed after the Socket.IO URL
	nc     *nats.Conn   // the services bus
	nodeID string
	// adapter links the node to the other edges; nil runs it alone. The
	// node closes it after the drain.
	adapter bus.Adapter
	// collectors are extra metrics to register (the adapter's).
	collectors []prometheus.Collector
	// tracker publishes the node's sockets to cluster-wide presence; nil:
	// none. The node closes it after the drain.
	tracker presence.Tracker
	// sink receives the tracker's events for the gateway.
	sink *presenceSink
}

type bannerLine struct{ label, value string }

// listeners are the node's bound sockets; binding them first makes a busy
// port fail the command before anything else starts.
type listeners struct {
	main  net.Listener
	admin net.Listener // nil: admin endpoints on main
}

func listen(cfg serverConfig) (*listeners, error) {
	main, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagAddr, err)
	}
	ls := &listeners{main: main}
	if cfg.AdminAddr != "" {
		if ls.admin, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			_ = main.Close()
			return nil, fmt.Errorf("--%s: %w", flagAdminAddr, err)
		}
	}
	return ls, nil
}

func (ls *listeners) close() {
	_ = ls.main.Close()
	if ls.admin != nil {
		_ = ls.admin.Close()
	}
}

// newRegistry returns the Prometheus registry of the process: the Go and
// process collectors and a build-info gauge.
func newRegistry(mode string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_build_info",
		Help: "Always 1; the labels describe the running binary.",
		ConstLabels: prometheus.Labels{
			"version": buildVersion(), "goversion": runtime.Version(), "mode": mode,
		},
	})
	build.Set(1)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
	)
	return reg
}

// newEdgeServer builds the Socket.IO server for cfg.
func newEdgeServer(cfg serverConfig, logger *slog.Logger, m edge.Metrics, opts nodeOptions) *edge.Server {
	srv := edge.New(edge.Config{
		Adapter:           opts.adapter,
		Presence:          opts.tracker,
		NodeID:            opts.nodeID,
		RequestTimeout:    cfg.Services.RequestTimeout,
		PingInterval:      cfg.PingInterval,
		PingTimeout:       cfg.PingTimeout,
		MaxHTTPBufferSize: cfg.MaxHTTPBufferSize,
		MaxQueueBytes:     cfg.MaxQueueBytes,
		CORSOrigins:       cfg.CORSOrigins,
		Recovery:          cfg.Recovery,
		MaxDisconnection:  cfg.MaxDisconnection,
		Logger:            logger,
		Metrics:           m,
	})
	for _, ns := range cfg.Namespaces {
		srv.Of(ns)
	}
	var group *edge.Namespace
	if cfg.NamespacePattern != nil {
		group = srv.OfPattern(cfg.NamespacePattern)
	}
	if cfg.DemoHandlers {
		installDemo(srv, cfg.Namespaces, group)
	}
	return srv
}

// node is one running Switchboard node: the edge server behind its HTTP
// servers, and its health.
type node struct {
	cfg     serverConfig
	opts    nodeOptions
	logger  *slog.Logger
	srv     *edge.Server
	gw      *gateway.Gateway
	health  *health
	servers []httpServer // the Socket.IO server first, then the admin one if any
}

type httpServer struct {
	name string
	http *http.Server
	l    net.Listener
}

// runNode serves Socket.IO and the admin endpoints on ls until ctx ends,
// then drains (see drain). It returns nil after a drain, even one that had
// to cut connections, and an error if a listener failed.
func runNode(ctx context.Context, out io.Writer, logger *slog.Logger, cfg serverConfig, ls *listeners, opts nodeOptions) error {
	n, err := newNode(logger, cfg, ls, opts)
	if err != nil {
		ls.close()
		return err
	}
	serveErr := make(chan error, len(n.servers))
	var wg sync.WaitGroup
	for _, s := range n.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.http.Serve(s.l); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("%s server on %s: %w", s.name, s.l.Addr(), err)
			}
		}()
	}
	n.health.serving.Store(true)
	n.announce(out)
	// Give the memory of connection storms back once they settle.
	trimCtx, stopTrim := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		memtrim.Run(trimCtx, memtrim.Config{Count: n.srv.Sessions})
	}()

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("signal received: draining", "sessions", n.srv.Sessions(), "timeout", cfg.ShutdownTimeout)
	case runErr = <-serveErr:
		logger.Error("server failed: shutting down", "err", runErr)
	}
	stopTrim()
	n.drain(runErr == nil)
	wg.Wait()
	logger.Info("stopped", "mode", opts.mode)
	return runErr
}

func newNode(logger *slog.Logger, cfg serverConfig, ls *listeners, opts nodeOptions) (*node, error) {
	reg := newRegistry(opts.mode)
	reg.MustRegister(opts.collectors...)
	n := &node{
		cfg: cfg, opts: opts, logger: logger,
		srv:    newEdgeServer(cfg, logger, metrics.New(reg), opts),
		health: &health{checks: opts.checks},
	}
	if opts.nc != nil {
		gw, err := gateway.New(n.srv, opts.nc, gateway.Config{
			Prefix:            cfg.Services.SubjectPrefix,
			Node:              opts.nodeID,
			AckTimeout:        cfg.Services.AckTimeout,
			RequestTimeout:    cfg.Services.RequestTimeout,
			AuthTimeout:       cfg.Services.AuthTimeout,
			AuthNamespaces:    cfg.Services.AuthNamespaces,
			ServiceNamespaces: cfg.Services.ServiceNamespaces,
			Logger:            logger.With("component", "gateway"),
			Metrics:           metrics.NewGateway(reg),
		})
		if err != nil {
			return nil, err
		}
		n.gw = gw
		if opts.sink != nil {
			opts.sink.attach(gw)
		}
	}
	mux := http.NewServeMux()
	mux.Handle(socketIOPath, n.srv)
	adminMux := mux
	if ls.admin != nil {
		adminMux = http.NewServeMux()
	}
	if cfg.Pprof {
		adminMux.HandleFunc("/debug/pprof/", pprof.Index)
		adminMux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		adminMux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		adminMux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		adminMux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	adminMux.HandleFunc("GET /healthz", n.health.serveHealthz)
	adminMux.HandleFunc("GET /readyz", n.health.serveReadyz)
	errLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	adminMux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: errLog, Registry: reg})))

	n.servers = []httpServer{{name: "socket.io", http: newHTTPServer(mux, errLog), l: ls.main}}
	if ls.admin != nil {
		n.servers = append(n.servers, httpServer{name: "admin", http: newHTTPServer(adminMux, errLog), l: ls.admin})
	}
	return n, nil
}

// announce prints the banner and logs the start.
func (n *node) announce(out io.Writer) {
	main, admin := n.servers[0].l.Addr(), n.servers[len(n.servers)-1].l.Addr()
	printBanner(out, n.opts, main, admin)
	n.logger.Info("serving", "mode", n.opts.mode, "socketio", httpURL(main, socketIOPath),
		"admin", httpURL(admin, "/"), "namespaces", n.cfg.Namespaces, "pattern", patternString(n.cfg))
}

// drain stops the node: /readyz turns 503 (for DrainDelay when delay is
// set, while the node still serves), then the Socket.IO listener closes
// while the edge server disconnects every client, then the admin server
// stops, all within ShutdownTimeout; what is left then is cut.
func (n *node) drain(delay bool) {
	n.health.draining.Store(true)
	if delay && n.cfg.DrainDelay > 0 {
		time.Sleep(n.cfg.DrainDelay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
	defer cancel()

	main := n.servers[0].http
	mainDone := make(chan error, 1)
	go func() { mainDone <- main.Shutdown(ctx) }()
	if err := n.srv.Shutdown(ctx); err != nil {
		n.logger.Warn("drain timed out: remaining connections cut", "err", err, "sessions", n.srv.Sessions())
	}
	if t := n.opts.tracker; t != nil {
		// After the clients, before the gateway: the leaves of this node's
		// members are published at once, not after its lease expires.
		if err := t.Close(ctx); err != nil {
			n.logger.Warn("presence: members not removed on shutdown", "err", err)
		}
	}
	if n.gw != nil {
		// After the clients: their disconnections still reach the services.
		n.gw.Close()
	}
	if n.opts.adapter != nil {
		if err := n.opts.adapter.Close(); err != nil {
			n.logger.Warn("closing the cluster adapter", "err", err)
		}
	}
	if err := <-mainDone; err != nil {
		_ = main.Close()
	}
	// The admin server goes last, so /readyz says 503 until the end.
	for _, s := range n.servers[1:] {
		if err := s.http.Shutdown(ctx); err != nil {
			_ = s.http.Close()
		}
	}
}

// newHTTPServer returns a server without write timeout (long polls and
// WebSockets outlive any) but with a bound on slow request headers.
func newHTTPServer(h http.Handler, errLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
	}
}

func patternString(cfg serverConfig) string {
	if cfg.NamespacePattern == nil {
		return ""
	}
	return cfg.NamespacePattern.String()
}

// printBanner tells a person where the node serves. Tests and scripts parse
// the "Socket.IO:" line.
func printBanner(out io.Writer, opts nodeOptions, main, admin net.Addr) {
	fmt.Fprintf(out, "switchboard %s (version %s)\n", opts.mode, buildVersion())
	fmt.Fprintf(out, "  %-10s %s\n", "Socket.IO:", httpURL(main, socketIOPath))
	for _, l := range opts.banner {
		fmt.Fprintf(out, "  %-10s %s\n", l.label+":", l.value)
	}
	base := httpURL(admin, "")
	fmt.Fprintf(out, "  %-10s %s/healthz %s/readyz %s/metrics\n", "Admin:", base, base, base)
}

// httpURL returns http://host:port/path for a bound address, naming an
// unspecified (wildcard) address "localhost".
func httpURL(a net.Addr, path string) string { return "http://" + displayHost(a) + path }

func displayHost(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}
