// Package service is the Go SDK for writing Switchboard services: programs
// that answer the events of Socket.IO clients and act on the cluster, talking
// to the edges only through NATS (the contract is docs/nats-api.md; its
// subjects and message bodies are package contract).
//
// A Client wraps a *nats.Conn that the caller owns:
//
//	nc, _ := nats.Connect(nats.DefaultURL)
//	c, _ := service.New(nc, service.Options{})
//	c.Handle("/chat", "createRoom", func(ctx context.Context, r *service.Request) (any, error) {
//		var req struct{ Name string `json:"name"` }
//		if err := r.Args.Decode(0, &req); err != nil {
//			return nil, &contract.Error{Code: contract.CodeBadRequest, Message: "want {name}"}
//		}
//		r.Join("room-" + req.Name)
//		return map[string]string{"id": "room-" + req.Name, "status": "ok"}, nil
//	})
//	c.Of("/chat").To("general").Emit(ctx, "msg", "hello")
//	...
//	c.Shutdown(ctx) // before nc.Drain or nc.Close
//
// # Handlers
//
// Handle, HandleAuth, OnConnect and OnDisconnect subscribe in the queue group
// Options.Queue, so every message is handled by one instance of the service.
// As with any nats.go subscription, the server learns of it asynchronously:
// call Flush on the connection when a message sent right after must reach
// it.
// What a handler returns becomes the reply: the client's ack arguments for
// Handle (see Handle for the mapping of values, Values, Args and errors), the
// accept/refuse answer for HandleAuth. Binary data anywhere in a reply ([]byte
// values, also nested in structs, maps and slices) travels as attachments, and
// binary data in an event decodes into []byte (Args.Decode, Args.Bytes,
// Args.Value).
//
// # Concurrency contract
//
// NATS delivers the messages of one subscription in order; each is handled in
// a goroutine of its own, with at most Options.Concurrency of them running per
// subscription (Concurrency 1 handles them one at a time, in arrival order).
// When that many are running, delivery waits, and the NATS client buffers up
// to its pending limits (beyond which it drops messages as a slow consumer).
// Handlers therefore run concurrently with each other and must synchronize
// their own shared state. A Request is owned by its handler call and is not
// safe for concurrent use.
//
// A handler's ctx is canceled when its deadline (Options.HandlerTimeout)
// passes, when its Subscription is unsubscribed, when the NATS connection
// closes, and when Client.Shutdown gives up waiting. Every handler goroutine
// is accounted for: Subscription.Drain and Client.Shutdown return once they
// have finished.
//
// Commands (Target's Emit, EmitWithAck, Join, Leave, Disconnect, Sockets) are
// NATS requests answered by one edge, which applies them cluster-wide; they
// block until the reply, ctx or Options.Timeout ends them. Target.Publish
// sends an emit without waiting for anything. All Client and Target methods
// are safe for concurrent use.
//
// # Errors
//
// An error reply of the cluster is returned as an error wrapping a
// *contract.Error (test its Code with errors.As); a command nobody listens to
// fails with ErrNoEdge; a request that ran out of time wraps
// context.DeadlineExceeded.
package service
