// Package gateway connects an edge server to the services behind it over
// NATS, implementing the edge side of the public subject contract (package
// contract, docs/nats-api.md):
//
//   - client events go to P.ev.<ns>.<event>: a request when the client wants
//     an acknowledgement (the reply becomes the ack), a publish otherwise;
//   - P.conn.<ns> and P.disc.<ns> announce sockets;
//   - namespaces configured for it ask P.auth.<ns> before accepting a socket;
//   - commands on P.cmd.* (emit, join, leave, disconnect, sockets, presence)
//     are taken by one edge of the queue group and applied;
//   - emits on P.bcast reach every edge, in order, and each delivers them to
//     its own sockets.
//
// # Concurrency
//
// Requests for acknowledgements do not hold a goroutine: the gateway
// publishes them with a reply subject under one inbox subscription of its
// own and matches the replies (or a timer, or NATS's no-responders status)
// to the waiting events. Replies are acknowledged from the NATS delivery
// goroutine, which only queues frames. Commands run on their subscription's
// goroutine, except emits that wait for acknowledgements, which get one each.
package gateway
