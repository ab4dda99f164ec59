// Package edge is a Socket.IO v5 server (over Engine.IO v4, package
// edge/engine) that the official socket.io-client uses unchanged: namespaces
// multiplexed on one connection, middlewares, rooms, acknowledgements in both
// directions, binary attachments anywhere in arguments, broadcasts with
// acknowledgements, volatile emits and connection state recovery.
//
// A Server is an http.Handler; mount it where clients connect:
//
//	srv := edge.New(edge.Config{})
//	srv.Of("/").OnConnection(func(s *edge.Socket) {
//		s.On("createRoom", func(e *edge.Event) {
//			var req struct{ Name string }
//			_ = e.Args.Decode(0, &req)
//			_ = e.Ack(map[string]string{"id": "room-" + req.Name, "status": "ok"})
//		})
//	})
//	http.Handle("/socket.io/", srv)
//
// # Concurrency contract
//
// Each client connection (Engine.IO session) has one reader goroutine and a
// writer goroutine while it has something queued (see edge/engine). Packets of one connection are handled
// in order on its reader goroutine: middlewares, OnConnection callbacks and
// event handlers run there, one at a time per connection and concurrently
// across connections. A handler that blocks stalls its own connection only;
// blocking work, including EmitWithAck to the same client, belongs in a
// goroutine, from which Event.Ack may be called later.
//
// Every other method (Emit, Join, Leave, Disconnect, broadcasts, …) is safe
// for concurrent use from any goroutine. Emits never block on the network:
// they queue immutable frames on the recipients' connections, whose queues
// are bounded in bytes; a connection that overflows its queue is closed as a
// slow consumer (counted in Metrics) without affecting anyone else.
//
// A broadcast is encoded once and the same frames go to every recipient: at a
// low broadcast rate the broadcasting goroutine writes them to each quiet
// connection itself, with a write that never blocks; when broadcasts follow
// each other closely they are queued, and the writer of each connection
// coalesces whatever is queued into one write (fanout.go). Disconnect handlers and ack callbacks may run on any goroutine.
// A panic in a handler is recovered, logged, and disconnects that socket only.
// The lock order is written down in LOCKS.md.
package edge
