// Package nats is the NATS fan-out adapter (bus.Adapter): interest-based
// subjects, so that a node receives only the broadcasts of rooms that have
// local members, and cluster requests that degrade to partial results.
//
//	a, err := nats.New(ctx, nats.Config{Conn: nc, NodeID: "edge-1"})
//	ns, err := a.Attach("/chat", local)
//	ns.RoomCreated("general") // first local member
//	err = ns.Publish(ctx, &bus.Broadcast{Selector: bus.Selector{Rooms: []string{"general"}}, ...})
//
// # Subjects
//
// All under P.node (P is Config.Prefix, "sb" by default), which the public
// services API leaves node-internal. <ns> is contract.NamespaceToken of the
// namespace, <room> and <id> are contract.NameToken of a room and a node id
// (bytes outside [A-Za-z0-9_-] as %XX):
//
//	P.node.hb              heartbeats of every node (hello, beat, goodbye)
//	P.node.bc.<ns>         broadcasts to the whole namespace; every node
//	P.node.bc.<ns>.<room>  broadcasts to a room; nodes with local members
//	P.node.sel.<ns>        broadcasts filtered by the receiver (below); every node
//	P.node.sel.<ns>.<tag>  broadcasts to socket ids starting with tag; the node
//	                       whose tag it is (and named rooms that look like ids)
//	P.node.req.<ns>        cluster requests; every node (one P.node.req.* each)
//	P.node.<id>.rep        answers to node <id>'s requests
//	P.node.<id>.ping       "is node <id> alive?", answered by that node
//
// Node ids whose token is hb, bc, sel or req are refused.
//
// # Interest and exactly-once delivery
//
// A node subscribes to P.node.bc.<ns>.<room> while the room has local
// members (Namespace.RoomCreated, RoomDeleted), so a room's broadcasts
// reach only the nodes that need them. Socket-id rooms are never
// announced; instead the edge starts its socket ids with the node's tag
// (bus.SocketIDTagger, owner.go), and a broadcast to a room that may be a
// socket id (Config.SocketID; by default the 20-character form) goes to
// P.node.sel.<ns>.<its first 4 characters>: only the owner receives it. A
// selection of more than 16 subjects goes once to P.node.sel.<ns>, which
// every node receives and delivers only if Local.HasRoom reports one of
// the selected rooms, rather than become that many copies.
//
// A broadcast to several rooms is published once per subject, the same
// bytes each time, and every copy
// carries the full Selector: a receiving node delivers it once to Local,
// which applies the selector to its sockets. The copies share a sequence
// number of the sending adapter instance; the receiver remembers the last
// sequence numbers delivered per sender and drops the other copies
// (counted as DropDuplicate). The copies leave back to back and one
// goroutine delivers a node's broadcasts in arrival order, so a window of
// 16 numbers is plenty. Ordering between the broadcasts of one sender is
// kept, across subjects too.
//
// Joining is asynchronous: a broadcast published right after a node's
// RoomCreated may miss that node, as its subscription travels to the
// server.
//
// # Envelope
//
// Every message is binary: version (1), kind, the sender's 8-byte instance
// id (random per Adapter; it tells a node's own echo apart, since the
// connection is shared and may not set NoEcho), then fields with uvarint
// lengths. A broadcast is
//
//	1 1 instance:8 seq:8 flags:1 nRooms nExcept len… names… len(data) data nAtt (len att)…
//
// encoded once into a pooled buffer, and decoded once per receiving node
// with Data and Attachments aliasing the received payload (nats.go
// allocates one per message and it is never written to) and the room
// names sharing one string. Requests carry the requesting node, a request
// id and an operation; replies the answering node, the requesting
// instance, the request id and a part (result, none, count, ack).
// Malformed, unknown, oversize or misaddressed messages are dropped,
// logged at most once a second per reason, and counted in Metrics.
//
// # Cluster requests and live nodes
//
// Every node sends a heartbeat on P.node.hb each Config.Heartbeat and a
// goodbye when it closes; New sends a hello that live nodes answer with
// their heartbeat. A node is a live peer while heard from within
// Config.PeerTTL. A request is published once on P.node.req.<ns> and waits
// for every live peer (answers from others are taken too) until
// RequestTimeout or ctx's deadline; it returns early when all answered. A
// peer that says goodbye or expires during the wait is no longer waited
// for. Result.Missing names the expected peers that did not answer. A
// node without the namespace answers as a node without sockets there.
// PublishWithAck waits for each node's client count within
// min(RequestTimeout, timeout), then for the counted clients' acks until
// timeout. New asks P.node.<id>.ping first and fails with
// bus.ErrNodeIDConflict if a live node answers.
//
// # Concurrency
//
// Every method is safe for concurrent use. The adapter owns three
// goroutines, which Close stops and waits for: deliverLoop (broadcasts, in
// order, to Local.Broadcast), serveLoop (the other nodes' requests, to
// Local) and ctlLoop (answers to this node's requests, heartbeats, probes,
// peer expiry). Its subscriptions are channel subscriptions feeding them,
// so nats.go runs none of the adapter's code; when the broadcast queue
// (Config.QueueLen) is full, nats.go drops new broadcasts
// (DropSlowConsumer). Local callbacks run on these goroutines, except the
// ack and reply functions they are given, which may be called from any
// goroutine. A panic in Local is recovered and counted (DropPanic).
//
// Locks (none held while calling Local or waiting on NATS): namespace.mu
// serializes a namespace's subscription changes and is held across
// nats.go Subscribe/Unsubscribe, which only queue a line for nats.go's
// flusher; Adapter.pubMu is held across the nats.go Publish calls of one
// multi-subject broadcast (they append to nats.go's buffer, writing it out
// when full under nats.go's connection lock, which every publisher waits
// for anyway); nspMu, reqMu, the peer table's and the pending
// queues' mutexes guard maps and slices only. Lock order: nspMu before
// namespace.mu (Attach), reqMu before a pending queue's (peer departures);
// no other two are held at once.
//
// After NATS restarts, nats.go reconnects and resubscribes everything;
// heartbeats resume and peers expired meanwhile come back. Volatile
// broadcasts are dropped while the connection is down; others wait in
// nats.go's reconnect buffer.
package nats
