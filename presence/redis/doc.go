// Package redis is the cluster presence store: room membership and user
// presence in Redis (standalone or Sentinel, 6.2 or later), with node leases,
// dead-node cleanup and batched writes. See docs/presence.md for the
// consistency rules.
//
// # Writes
//
// A Tracker keeps its node's sockets in memory: that local state is the
// truth about them. The write methods (Connect, Join, Leave, SetData,
// Disconnect) change it under a mutex, mark the socket dirty and wake the
// tracker's goroutine; they never wait for Redis. The goroutine takes the
// dirty sockets (up to 2048 per flush), computes for each the difference
// between what Redis holds and the local state, and writes all of it in one
// pipeline of EVALSHA calls (512 operations each): a burst of N joins costs
// about N/2048 round trips, and a join and leave of the same room between
// two flushes cost nothing. While Redis is unreachable the dirty sockets
// simply stay dirty (the list is bounded by the number of sockets) and are
// written when it answers.
//
// # Atomicity and events
//
// Each write script applies its operations and decides their events
// atomically: a join event is emitted by the script whose HSET added the
// member, a leave by the one whose HDEL removed it, online/offline by the
// one that moved a user's reference count from or to zero. The tracker that
// ran the script hands the events to Config.OnEvent: exactly once
// cluster-wide. A script's reply can be lost with its connection after the
// script ran; so every write and reap script keeps its reply in Redis for a
// while, under the caller's incarnation and call number. The same call made
// again (go-redis retrying a pipeline) gets the kept reply instead of running
// twice, and a tracker that saw a connection break fetches the kept replies
// of its unanswered calls before writing anything else. Events are lost only
// when the tracker itself dies between a script and its reply.
//
// Before writing, every script checks the node's view of Redis: the epoch
// (a random value that disappears when Redis loses its data), the node's
// incarnation (another one means the node was taken for dead or its id was
// taken over) and its write sequence (a gap means Redis lost writes, e.g. a
// failover to a late replica). When the view is stale the node registers a
// new incarnation and writes its whole state again: silently for what it had
// announced (Redis lost it; nobody saw it leave), with events for the rest.
//
// # Leases and dead nodes
//
// Each node refreshes its lease (a score in the sorted set of nodes) every
// Heartbeat. On its heartbeat a node that has been in touch with Redis for
// two heartbeats claims the nodes whose lease expired: the claim is one
// script, so each dead incarnation is claimed once. A claimed incarnation is
// queued for reaping; any node may reap it, in chunks (SPOP hands each socket
// to exactly one reaper), emitting the leaves. A node starting with the id of
// a previous incarnation reaps that one before its first write; Close
// deregisters and reaps the node's own sockets at once.
//
// # Key layout
//
// With P the key prefix (default "sb:presence") and <ns> a namespace written
// as "<byte length>:<namespace>" (so that no namespace/room pair can spell
// another's key):
//
//	P:m:<ns>:<room>    hash   sid → member JSON {"sid","node","data","user"}; room "" is the namespace
//	P:u:<ns>:<room>    hash   user → number of the user's sockets there (HLEN: distinct users)
//	P:us:<ns>:<user>   hash   sid → member JSON: the user's sockets in the namespace
//	P:s:<ns>:<sid>     hash   o: owner "<node>@<incarnation>", u: user, m: member JSON
//	P:sr:<ns>:<sid>    set    the socket's rooms
//	P:ns:<owner>       set    "<ns><sid>" of every socket of an incarnation
//	P:node:<node>      hash   inc: current incarnation, seq: its write sequence
//	P:nodes            zset   node → lease expiry (ms, Redis clock)
//	P:reap             hash   owner → "0"/"1" (silently): incarnations to remove
//	P:epoch            string random; gone when Redis lost its data
//	P:res:<owner>      hash   write sequence → kept reply (the last 32, 10 minutes)
//	P:rres:<reaper>    hash   reap call number → kept reply (the last 32, 10 minutes)
//
// Counts are HLENs (O(1), one round trip); member pages are HSCANs, their
// cursor the HSCAN cursor plus a position in its batch. Scripts build key
// names from the prefix, so Redis Cluster is not supported.
//
// # Concurrency
//
// Tracker and Reader are safe for concurrent use. A Tracker's mutex guards
// its socket map and dirty list only; it is never held during I/O or while
// calling OnEvent, Logger or Metrics. One goroutine per Tracker does all its Redis writes and calls
// OnEvent; Close and Abandon wait for it.
package redis
