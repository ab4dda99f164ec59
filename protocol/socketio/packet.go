package socketio

import "strconv"

// Type is a Socket.IO packet type, the first character of a packet.
type Type uint8

// Packet types of Socket.IO protocol v5.
const (
	Connect      Type = iota // 0: CONNECT, optional object payload
	Disconnect               // 1: DISCONNECT, no payload
	Event                    // 2: EVENT, [name, args...]
	Ack                      // 3: ACK, [args...]
	ConnectError             // 4: CONNECT_ERROR, object or string
	BinaryEvent              // 5: BINARY_EVENT, like Event with placeholders
	BinaryAck                // 6: BINARY_ACK, like Ack with placeholders
)

var typeNames = [...]string{
	Connect:      "CONNECT",
	Disconnect:   "DISCONNECT",
	Event:        "EVENT",
	Ack:          "ACK",
	ConnectError: "CONNECT_ERROR",
	BinaryEvent:  "BINARY_EVENT",
	BinaryAck:    "BINARY_ACK",
}

// String returns the protocol name of t, e.g. "BINARY_EVENT".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// binary reports whether packets of type t carry an attachment count.
func (t Type) binary() bool { return t == BinaryEvent || t == BinaryAck }

// Packet is one Socket.IO packet.
type Packet struct {
	Type      Type
	Namespace string // always set; "/" when the wire form has none
	ID        uint64 // ack id, valid when HasID
	HasID     bool
	// Data is the raw JSON payload exactly as received (it aliases the decoder input); nil when absent.
	// For BinaryEvent/BinaryAck it still contains the {"_placeholder":true,"num":N} objects.
	Data []byte
	// Attachments are the binary attachments of a BinaryEvent/BinaryAck, in order. Decode sets it to
	// a slice of n nil entries for a "<n>-" header (so len(Attachments) is the announced count); the
	// Decoder fills the entries in. When encoding, len(Attachments) is the count written.
	Attachments [][]byte
}

// DefaultMaxAttachments is the attachment limit used when a limit is zero or negative; it is the
// default of socket.io-parser 4.2.
const DefaultMaxAttachments = 10

// IsReserved reports whether name is a reserved event name: connect, connect_error, disconnect,
// disconnecting, newListener or removeListener. Such events are rejected by Decode and by
// AppendEventData.
func IsReserved(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

// isReservedBytes is IsReserved for a byte slice; it does not allocate.
func isReservedBytes(name []byte) bool {
	if len(name) < 7 || len(name) > 14 {
		return false
	}
	return IsReserved(string(name))
}
