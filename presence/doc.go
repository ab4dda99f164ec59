// Package presence is the contract for cluster-wide room membership and user
// presence: which sockets are in a namespace or a room, on which node, with
// which socket data and user, and which users are online.
//
// Each edge node holds one Tracker. The edge tells it about its own sockets
// (Connect, Join, Leave, SetData, Disconnect); the tracker makes them known to
// the whole cluster and answers cluster-wide queries (Counts, Query,
// SocketRooms). A Reader answers the same queries without being a node (the
// CLI, a service gateway). Implementations: presence/redis (the cluster
// store: node leases, crash cleanup, batched writes) and presence/memory (one
// process, for switchboard dev and tests). Both pass the contract tests of
// presence/presencetest. The package never imports the edge.
//
// # What is tracked
//
// Per namespace: its member sockets (the namespace-level membership, made by
// Connect) and its online users. Per namespace and room: the member sockets
// and the distinct users among them. Per socket: its rooms. Per user: its
// sockets across the cluster. A socket's own id-named room is not tracked:
// the edge passes only named rooms. Counts are O(1); member lists are paged.
//
// # Events
//
// Config.OnEvent receives a typed Event for every change, exactly once
// cluster-wide: the node that performed the change (its own socket's join or
// leave, or a dead node's cleanup) emits it. A join or leave of a room gives
// ActionJoin/ActionLeave; a user's first socket connecting to a namespace
// gives ActionOnline and its last socket leaving it ActionOffline.
// Connecting to and disconnecting from a namespace give no join/leave events
// of their own (the edge publishes P.conn and P.disc for those). See
// docs/presence.md for the consistency rules during joins, crashes, Redis
// restarts and partitions.
//
// # Concurrency
//
// All Tracker methods are safe for concurrent use. The write methods
// (Connect, Join, Leave, SetData, Disconnect) only update the node's local
// state and return at once: they never wait for the network, so the edge may
// call them from its socket paths. A goroutine owned by the tracker writes
// the changes in batches and calls OnEvent, one event at a time; OnEvent must
// not block (hand the event to a queue or an asynchronous publish). The read
// methods and Sync and Close take a context and do I/O.
package presence
