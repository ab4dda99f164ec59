package wire

import (
	"encoding/json"
	"strconv"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// MaxDepth is the deepest nesting of arrays and maps the codec accepts, in both directions. It
// matches the JSON nesting limit of package socketio, so that any payload a client may send can
// cross the bus.
const MaxDepth = 10000

// Packet is the Socket.IO packet carried by a broadcast or a BROADCAST request: the object
// {type, data, nsp, id?} of the reference adapter, in Socket.IO's own payload model.
type Packet struct {
	// Type is the packet type as received; the adapter only sends socketio.Event (2), and the
	// encoders always write 2.
	Type socketio.Type
	// NSP is the namespace, "/" when the message has none.
	NSP string
	// Data is the JSON array [event, args...]. Each binary value of the message stands in it as a
	// {"_placeholder":true,"num":N} object, N indexing Attachments.
	Data json.RawMessage
	// Attachments are the binary values of Data, numbered depth-first (arrays by index, maps in
	// wire order).
	Attachments [][]byte
	// ID is the packet's ack id when the message has one.
	ID *uint64
}

// Flags are the broadcast flags of the reference adapter (socket.io BroadcastFlags). Flags a
// message does not set keep their zero value.
type Flags struct {
	Volatile  bool
	Compress  *bool // nil: not set (socket.io's default is to compress)
	Local     bool
	Broadcast bool
	Binary    *bool // nil: not set (a socket.io 2 flag, kept for old peers)
	Timeout   *int  // ack timeout in milliseconds, nil when not set
}

// Opts are the broadcast options {rooms, except, flags}. An empty Rooms targets the whole
// namespace.
type Opts struct {
	Rooms  []string
	Except []string
	Flags  Flags
}

// Broadcast is a decoded broadcast message [uid, packet, opts].
type Broadcast struct {
	UID    string // the sender's uid; "emitter" for @socket.io/redis-emitter
	Packet Packet
	Opts   Opts
}

// RequestType is the type of a request on the request channel, and of some responses
// (RequestType enum of @socket.io/redis-adapter 8.x).
type RequestType int

// Request and response types.
const (
	Sockets              RequestType = 0 // SOCKETS (legacy): ids of the sockets in rooms
	AllRooms             RequestType = 1 // ALL_ROOMS: adapter.allRooms()
	RemoteJoin           RequestType = 2 // REMOTE_JOIN: socketsJoin
	RemoteLeave          RequestType = 3 // REMOTE_LEAVE: socketsLeave
	RemoteDisconnect     RequestType = 4 // REMOTE_DISCONNECT: disconnectSockets
	RemoteFetch          RequestType = 5 // REMOTE_FETCH: fetchSockets
	ServerSideEmit       RequestType = 6 // SERVER_SIDE_EMIT, and its ack response
	BroadcastRequest     RequestType = 7 // BROADCAST: a broadcast expecting client acks
	BroadcastClientCount RequestType = 8 // BROADCAST_CLIENT_COUNT response
	BroadcastAck         RequestType = 9 // BROADCAST_ACK response: one client's ack
)

var requestTypeNames = [...]string{
	"SOCKETS", "ALL_ROOMS", "REMOTE_JOIN", "REMOTE_LEAVE", "REMOTE_DISCONNECT", "REMOTE_FETCH",
	"SERVER_SIDE_EMIT", "BROADCAST", "BROADCAST_CLIENT_COUNT", "BROADCAST_ACK",
}

// String returns the reference name of t, e.g. "REMOTE_FETCH".
func (t RequestType) String() string {
	if t >= 0 && int(t) < len(requestTypeNames) {
		return requestTypeNames[t]
	}
	return "RequestType(" + strconv.Itoa(int(t)) + ")"
}

// Request is a message of the request channel. One struct covers every shape of §4.3; the
// fields a type does not use stay zero.
//
//	SOCKETS (legacy)       UID?, RequestID, Rooms
//	ALL_ROOMS              UID, RequestID
//	REMOTE_JOIN/LEAVE      UID? (the emitter sends none), Opts, Rooms — legacy form: RequestID, SID, Room
//	REMOTE_DISCONNECT      UID?, Opts, Close — legacy form: RequestID, SID, Close
//	REMOTE_FETCH           UID, RequestID, Opts
//	SERVER_SIDE_EMIT       UID, Data, RequestID when an ack is wanted
//	BROADCAST              UID, RequestID, Packet, Opts (with Flags.Timeout)
type Request struct {
	Type      RequestType
	UID       string // "" when absent
	RequestID string // "" when absent
	// Opts selects the target sockets; nil when the message has no opts (the legacy forms).
	// Flags are carried only by BROADCAST requests.
	Opts *Opts
	// Rooms: the rooms to join or leave (REMOTE_JOIN/LEAVE), or to list (SOCKETS).
	Rooms []string
	Close bool // REMOTE_DISCONNECT: close the underlying connection
	// Data: SERVER_SIDE_EMIT's JSON array [event, args...]; binary values of a msgpack-encoded
	// request are placeholders indexing Attachments.
	Data        json.RawMessage
	Attachments [][]byte
	Packet      *Packet // BROADCAST
	SID         string  // legacy REMOTE_JOIN/LEAVE/DISCONNECT: the socket id
	Room        string  // legacy REMOTE_JOIN/LEAVE: the room
}

// SocketInfo describes a remote socket in a REMOTE_FETCH response.
type SocketInfo struct {
	ID        string
	Handshake json.RawMessage // the handshake object as JSON (headers, time, address, ..., auth)
	Rooms     []string
	Data      json.RawMessage // socket.data as JSON; nil when absent
	// User is the socket's authenticated user, a Switchboard extension ("user", written when
	// not empty; Node peers ignore it and never send it).
	User string
}

// Response is a message of the response channels. One struct covers every shape:
//
//	SOCKETS (legacy)        RequestID, SocketIDs
//	ALL_ROOMS               RequestID, Rooms
//	REMOTE_FETCH            RequestID, Sockets
//	legacy join/disconnect  RequestID
//	SERVER_SIDE_EMIT        Type 6, RequestID, Data (the first ack argument)
//	BROADCAST_CLIENT_COUNT  Type 8, RequestID, ClientCount
//	BROADCAST_ACK           Type 9, RequestID, Packet (the client's first ack argument)
//	join/leave/disconnect   RequestID, UID, Matched (Switchboard extension, see UID)
type Response struct {
	// Type is set only by SERVER_SIDE_EMIT, BROADCAST_CLIENT_COUNT and BROADCAST_ACK responses;
	// zero (which no response uses as such) means the message carries none.
	Type      RequestType
	RequestID string
	// UID is the answering node's uid, a Switchboard extension ("uid", written when not empty):
	// Switchboard nodes name themselves in their answers so that a requester knows which nodes
	// answered. Node peers ignore the key and never send it.
	UID         string
	Sockets     []SocketInfo // REMOTE_FETCH
	SocketIDs   []string     // SOCKETS (legacy): sockets as plain ids
	Rooms       []string     // ALL_ROOMS
	ClientCount int          // BROADCAST_CLIENT_COUNT
	// Matched is the number of sockets a REMOTE_JOIN/LEAVE/DISCONNECT request carrying a
	// requestId matched on the answering node, a Switchboard extension ("matched", written when
	// not nil). Node peers never answer such requests.
	Matched *int
	// Data is SERVER_SIDE_EMIT's first ack argument as JSON; nil when absent.
	Data json.RawMessage
	// Packet is BROADCAST_ACK's first ack argument as one JSON value (not an array); nil when
	// absent (an ack called without arguments).
	Packet json.RawMessage
	// Attachments are the binary values of Data, Packet and the sockets' Handshake and Data,
	// numbered depth-first across the message; they can only travel in a msgpack message.
	Attachments [][]byte
}
