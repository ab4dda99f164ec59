// Package engine is the Engine.IO v4 server of a Switchboard edge: the
// handshake, the WebSocket and HTTP long-polling transports, the upgrade from
// polling to WebSocket, heartbeats and the per-session outbound queue.
//
// It knows nothing of Socket.IO: a Server hands every new Session to
// Config.OnOpen, which returns the Receiver of that session's messages.
//
// # Concurrency contract
//
// A WebSocket session has exactly one reader goroutine (the one that served
// the upgrade request, moved to a fresh goroutine after an idle period) and at
// most one write in progress at any time. Writes are done by:
//   - the session's writer goroutine, started on demand and parked on a
//     channel while the queue is empty (it exits after two idle reaper
//     periods): under load it coalesces everything queued since its last
//     write into a single write syscall;
//   - the goroutine calling Send, when the session has written nothing for a
//     moment (inline.go): one non-blocking write, with whatever the socket
//     does not take queued, first, for the writer. At a low message rate this
//     saves a goroutine hand-off per frame; Queue never does it;
//   - SendNow, for the reader and the heartbeat, which may block on their own
//     client.
//
// A polling session has no goroutine of its own: the pending GET request
// drains the queue, and the POST request delivers messages.
//
// Heartbeats use one runtime timer per session (time.AfterFunc), which is a
// heap entry, not a goroutine.
//
// Send, Queue, SendVolatile and Close may be called from any goroutine, also
// while holding locks: none of them blocks on the network. Receiver
// methods are called for one session one at a time and in order; OnClose is
// called exactly once and may run while an OnMessage call of the same session
// is still in progress (for example when the heartbeat times out).
//
// Outbound frames are immutable: one Frame may be queued to any number of
// sessions, which is how a broadcast is encoded once. The queue of a session
// is bounded in bytes (Config.MaxQueueBytes); a session that overflows it is
// closed as a slow consumer.
package engine
