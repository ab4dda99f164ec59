// Package metrics is the Prometheus implementation of edge.Metrics: it turns
// the edge server's observations into switchboard_* series.
//
// Series (all prefixed switchboard_):
//
//	engine_sessions{transport}                 gauge: live Engine.IO sessions ("polling", "websocket")
//	engine_sessions_opened_total{transport}    sessions opened, by their first transport
//	engine_sessions_closed_total{transport,reason}
//	                                           sessions closed, by the transport they had and the close reason
//	engine_upgrades_total                      polling sessions upgraded to websocket
//	engine_upgrade_failures_total{reason}      failed upgrades
//	engine_packets_received_total              Engine.IO packets read from clients
//	engine_packets_sent_total                  Engine.IO packets written to clients
//	engine_received_bytes_total                bytes read from clients
//	engine_sent_bytes_total                    bytes written to clients
//	engine_slow_consumer_disconnects_total     sessions closed because their outbound queue overflowed
//	errors_total{kind}                         rejected requests and protocol errors
//	sockets{namespace}                         gauge: connected sockets
//	sockets_connected_total{namespace}         socket connections
//	sockets_disconnected_total{reason}         socket disconnections
//	ack_timeouts_total                         server-to-client acknowledgements that timed out
//	handler_panics_total                       panics recovered from event, connection and disconnect handlers
//
// Namespace labels are bounded: dynamic namespaces can be created by clients,
// so after MaxNamespaceLabels distinct names the rest are counted under the
// label "_other".
//
// # Concurrency
//
// A Metrics is safe for concurrent use. The hot paths (packets, bytes, the
// fixed transports) use counters resolved once at construction; labels that
// vary (reasons, kinds) are resolved per call; namespace series are cached
// in a sync.Map.
package metrics
