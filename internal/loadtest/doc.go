// Package loadtest is Switchboard's load generator: it simulates many
// Socket.IO clients against any Socket.IO v5 server (Node.js socket.io,
// Switchboard, others) and measures what the server costs and how fast it
// delivers.
//
// It speaks Engine.IO v4 and Socket.IO v5 itself over a raw WebSocket (its
// own minimal RFC 6455 client, wsconn.go), opening
// `GET /socket.io/?EIO=4&transport=websocket` directly, with no polling
// phase. It answers the server's Engine.IO pings (`2`) with pongs (`3`),
// connects one namespace per client, sends only text packets and decodes
// only what the scenarios need, without allocating per message, so one core
// drives 10k clients. Like a real client it sends every packet as its own
// frame in its own write(2); it reads whatever the socket holds in one
// read(2) and parses every frame in it before reading again. Its receive
// capacity depends on how the server writes: frames coalesced into few TCP
// segments are cheap (hundreds of thousands per second per core), while one
// frame per segment costs two read(2) calls per message (the Go runtime
// reads until EAGAIN). Usage.ClientCores tells which side was the limit.
//
// # Scenarios
//
//   - [Idle]: N clients connect and stay idle; the server's RSS growth per
//     connection and the client-side connect times.
//   - [Broadcast]: N clients join a room; a trigger client broadcasts to it at
//     a fixed rate or as fast as a bounded in-flight window allows; delivered
//     messages per second, send-to-receive latency, server CPU-seconds per
//     million messages delivered, losses.
//   - [Ack]: N clients each keep K "echo" emits with ack in flight; acks per
//     second, ack latency, server CPU-seconds per million acks.
//
// Server-side figures come from /proc/<pid>/status (VmRSS) and
// /proc/<pid>/stat (utime+stime) of Config.ServerPIDs, so they need Linux and
// a server on the same machine. Pin the server and the load generator to
// different cores (taskset) and compare CPU per message rather than raw
// rates when the load generator saturates first (Usage.ClientCores near the
// cores it has).
//
// # Benchmark server contract
//
// The server under test needs three event handlers, in every namespace the
// benchmark uses (the default is "/"):
//
//   - "join"(room) with ack: add the socket to room, then ack; the ack's
//     arguments are ignored (e.g. true).
//     Wire: `42<id>["join","bench"]` → `43<id>[true]`.
//   - "broadcast"(room, payload), no ack: emit "msg"(payload) to every socket
//     in room. payload is a JSON object of about 100–150 bytes,
//     {"t":<send time, ns>,"seq":<sequence number>,"pad":"xx…"}, and must be
//     forwarded unchanged (key order kept).
//     Wire: `42["broadcast","bench",{…}]` → each member gets `42["msg",{…}]`.
//   - "echo"(...args) with ack: ack with the same arguments.
//     Wire: `42<id>["echo",{…}]` → `43<id>[{…}]`.
//
// With a namespace other than "/", every packet carries it
// (`42/bench,7["join","bench"]`). Servers keep their default heartbeat,
// no per-message deflate. bench/node/server.mjs is the reference
// implementation, on socket.io 4.8.4.
//
// # Concurrency
//
// Each client has one goroutine: it dials, handshakes, runs the scenario's
// setup (the room join), then is the connection's only reader for the rest of
// the run, answering pings and handing packets to the scenario. Writes go
// through a per-client mutex (the reader's pongs and acks-driven emits, the
// trigger's broadcasts). Every goroutine is owned by the scenario call that
// started it and has ended when that call returns. Every scenario is bounded
// in time by its configuration and stops early when ctx ends.
package loadtest
