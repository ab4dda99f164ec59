// Package redis is the default bus.Adapter: fan-out through Redis pub/sub, speaking the classic
// wire protocol of @socket.io/redis-adapter 8.x (codec in package wire). Switchboard nodes and
// Node.js socket.io servers using that adapter share one cluster when they share a Redis and a
// key, and @socket.io/redis-emitter publishers reach the sockets of both.
//
// # Wire
//
// The node id is the adapter uid. For each attached namespace the node holds, on its single
// pub/sub connection, PSUBSCRIBE "<key>#<nsp>#*" and SUBSCRIBE of the request channel
// "<key>-request#<nsp>#", the response channel "<key>-response#<nsp>#" and its specific
// response channel "<key>-response#<nsp>#<node id>#". Node servers count the servers of a
// namespace with PUBSUB NUMSUB of the request channel, so a node holds exactly one
// subscription there, whatever happens.
//
// Publish encodes a broadcast once, the msgpack [uid, packet, opts], to "<key>#<nsp>#<room>#"
// when it names exactly one room, else to "<key>#<nsp>#". A received broadcast is handled as
// the reference does: a single-room message for a room without local members is dropped
// unread (Local.HasRoom), our own messages are dropped (by uid, before decoding), a packet of
// another namespace is dropped, the rest is decoded once and handed to Local.Broadcast.
//
// Requests go to the request channel (JSON; BROADCAST in msgpack) and are answered on the
// common response channel, where Node requesters listen by default. Every node answers
// SOCKETS, ALL_ROOMS, REMOTE_FETCH, SERVER_SIDE_EMIT with ack and BROADCAST (a client count,
// even 0, then each client ack) exactly once. REMOTE_JOIN, REMOTE_LEAVE and REMOTE_DISCONNECT
// are applied whenever they arrive, from Node servers, Switchboard nodes or the emitter (which
// sends no uid); only a node's own echo is skipped, since the edge applies its operations
// locally itself.
//
// # Switchboard extensions
//
// Node peers ignore them (their adapter reads only the keys it knows, and answers no
// REMOTE_JOIN/LEAVE/DISCONNECT carrying opts):
//
//   - answers carry "uid", the answering node's id, so a requester knows who answered;
//   - Join, Leave and Disconnect add a "requestId" to their request; Switchboard nodes answer
//     {"requestId","uid","matched":N}, summed into the matched count;
//   - fetched sockets carry "user" when the edge knows it;
//   - the node registry: the sorted set "<key>#sb#nodes" (node ids scored by the unix
//     milliseconds of their last heartbeat, every HeartbeatInterval), the hash
//     "<key>#sb#nodes#tokens" (each id's instance token), and the channel
//     "<key>#sb#node#<node id>" each node stays subscribed to while connected.
//
// # Partial results
//
// A request waits for every live Switchboard node of the namespace (registered within NodeTTL
// and subscribed to its specific response channel) and for as many answers as the request
// channel has other subscribers, until RequestTimeout or the caller's deadline. Result.Missing
// then names the Switchboard nodes that did not answer, the registered nodes whose connection
// is gone (not waited for: their node channel has no subscriber; named until their entry
// expires), and "unknown-1", "unknown-2"... for the answers owed by other subscribers (Node
// servers) that did not come. Node servers never answer Join, Leave and Disconnect: those wait
// for Switchboard nodes only, and name the Node servers "unknown-N". A deadline reached is not
// an error; a cancelled ctx is, and so is an unreachable Redis (bus.ErrUnavailable).
//
// New refuses a node id that a live process holds (bus.ErrNodeIDConflict): one whose node
// channel or "/" specific response channel has a subscriber, or whose registry entry is
// refreshed while New watches it for a heartbeat interval. A node that died without Close
// leaves a fresh entry; its id is taken over once the entry is not refreshed.
//
// # Outages
//
// go-redis reconnects the pub/sub connection after an error and makes every subscription
// again; Ready reports bus.ErrUnavailable from the loss until then (and while publishing
// fails), Metrics.Connected follows it and Metrics.Reconnected counts the restorations. An
// idle connection is PINGed every HeartbeatInterval; one that does not answer for another
// interval is reported down. While publishing fails, volatile broadcasts are dropped, other
// broadcasts wait in the queue (up to MaxQueueBytes) and are published again, and requests
// fail at once. Malformed, oversized, unknown and misdirected messages are dropped with a
// (rate-limited) log line and Metrics.Dropped; they never reach Local.
//
// # Concurrency
//
// An Adapter and its namespaces are safe for concurrent use. Three goroutines belong to the
// adapter and end in Close: the subscriber (reads the pub/sub connection and calls Local, one
// message at a time, in arrival order), the writer (publishes everything the node sends, in
// order, pipelining what queued up meanwhile) and the maintenance loop (heartbeats, PINGs).
// Local methods therefore run on the subscriber goroutine and must not block; so do the
// count, ack and reply callbacks of requests, which never overlap and never run after the
// request returned. The ack and reply functions given to Local may be called from any
// goroutine. A panic in a callback is recovered, logged and counted.
//
// Lock order: Adapter.mu, namespace.mu and call.mu are leaves (a call's callbacks run under
// call.mu); ackRelay.mu is taken before publisher.mu. No lock is held across network I/O.
package redis
