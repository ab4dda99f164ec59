// Command switchboard is the Switchboard binary: one executable with the
// commands that run a node and, later, the service-side tools.
//
//	switchboard dev       one process: Socket.IO on --addr (default :3000) plus an
//	                      embedded NATS server; demo handlers on by default
//	switchboard edge      a cluster node connected to NATS at --nats-url
//	switchboard version   the version and build details
//
// Run `switchboard help <command>` for every option. Each option is also
// read from SWITCHBOARD_<OPTION> (upper case, dashes as underscores).
//
// This package is the only place that reads flags and the environment and
// wires implementations: the edge server (package edge), the Prometheus
// metrics (internal/metrics), slog logging, the embedded NATS server and the
// NATS connection.
//
// Files: main.go (signals, exit status), app.go (the cli App), flags.go and
// config.go (flag definitions, validation), dev.go and edge.go (the
// commands), serve.go (listeners, HTTP servers, drain), health.go (/healthz,
// /readyz), natsembed.go (embedded NATS), demo.go (demo handlers),
// logging.go, version.go.
//
// # Concurrency
//
// A command runs on the caller's goroutine until its context ends; every
// goroutine it starts (HTTP servers, the edge server's sessions, NATS) has
// ended when it returns.
package main
