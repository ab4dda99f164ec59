// Package socketio is the Socket.IO protocol v5 packet codec: the text encoding of packets
// (type, "<n>-" attachment count, namespace, ack id, JSON payload), the payload checks of the
// reference decoder (socket.io-parser 4.2), reassembly of binary packets from a header and its
// attachment messages, placeholder validation and resolution, and the encoding of event and ack
// arguments into JSON with binary values split out as attachments.
//
// The package owns only bytes-in, bytes-out. It is pure: standard library only, no I/O, no
// goroutines. Engine.IO framing (the leading "4" of a message packet, the "b" prefix of base64
// attachments on polling) belongs to package engineio; namespaces, sockets and acks to the server.
//
// Payloads stay raw JSON: Decode validates a payload in one pass and returns it as a sub-slice of
// its input, without building a map (which would reorder keys) and without allocating. SplitArray,
// EventName and AppendEventName look inside an already validated payload without allocating.
//
// # Aliasing
//
// Packet.Data aliases the slice given to Decode or Decoder.Text, and Packet.Attachments hold the
// slices given to Decoder.Binary. The caller must not modify or reuse those buffers while the
// packet is in use (for a binary packet: from its header until the packet is done with).
//
// # Concurrency
//
// The functions of the package are safe for concurrent use. A Decoder holds the reassembly state of
// one connection and is not safe for concurrent use; a connection's reader goroutine owns it.
package socketio
