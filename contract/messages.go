package contract

import "encoding/json"

// Error is the error body of a reply: {"error":{"code","message"}}.
type Error struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

// Error codes.
const (
	CodeBadRequest       = "bad_request"
	CodeUnknownNamespace = "unknown_namespace"
	CodeTooLarge         = "too_large"
	CodeUnavailable      = "unavailable"
	CodeServiceError     = "service_error"
	CodeTimeout          = "timeout"
	CodeNoResponders     = "no_responders"
	CodeInternal         = "internal"
)

// ErrorReply is the reply to a request that failed.
type ErrorReply struct {
	Error *Error `json:"error"`
}

// Handshake describes how a client connected.
type Handshake struct {
	Headers map[string][]string `json:"headers"`
	Query   map[string]string   `json:"query"`
	Address string              `json:"address"`
	URL     string              `json:"url"`
	Auth    json.RawMessage     `json:"auth,omitempty"`
}

// Event is published (or requested, when the client wants an ack) on
// P.ev.<ns>.<event>. Args is the raw JSON array of the arguments; binary
// values in it are {"_placeholder":true,"num":N} referring to Attachments.
type Event struct {
	SID         string          `json:"sid"`
	NS          string          `json:"ns"`
	Event       string          `json:"event"`
	Args        json.RawMessage `json:"args"`
	Attachments [][]byte        `json:"attachments,omitempty"`
	Node        string          `json:"node"`
	Data        json.RawMessage `json:"data,omitempty"`
	User        string          `json:"user,omitempty"`
}

// EventReply answers an Event request: Args become the client's ack
// arguments; Join and Leave change the socket's rooms before the ack is sent.
type EventReply struct {
	Args        json.RawMessage `json:"args,omitempty"`
	Attachments [][]byte        `json:"attachments,omitempty"`
	Join        []string        `json:"join,omitempty"`
	Leave       []string        `json:"leave,omitempty"`
	Error       *Error          `json:"error,omitempty"`
}

// Conn is published on P.conn.<ns> once a socket is connected.
type Conn struct {
	SID       string          `json:"sid"`
	NS        string          `json:"ns"`
	Node      string          `json:"node"`
	Handshake Handshake       `json:"handshake"`
	Data      json.RawMessage `json:"data,omitempty"`
	User      string          `json:"user,omitempty"`
	Recovered bool            `json:"recovered"`
}

// Disc is published on P.disc.<ns> when a socket disconnects.
type Disc struct {
	SID    string          `json:"sid"`
	NS     string          `json:"ns"`
	Node   string          `json:"node"`
	Reason string          `json:"reason"`
	Data   json.RawMessage `json:"data,omitempty"`
	User   string          `json:"user,omitempty"`
}

// AuthRequest is sent on P.auth.<ns> for namespaces that require it.
type AuthRequest struct {
	SID       string          `json:"sid"`
	NS        string          `json:"ns"`
	Auth      json.RawMessage `json:"auth"`
	Handshake Handshake       `json:"handshake"`
	Node      string          `json:"node"`
}

// AuthReply accepts (OK, with optional socket Data, User and rooms to Join)
// or refuses (Message and Data reach the client's connect_error).
type AuthReply struct {
	OK      bool            `json:"ok"`
	Message string          `json:"message,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	User    string          `json:"user,omitempty"`
	Join    []string        `json:"join,omitempty"`
}

// Selector chooses sockets: those in any of Rooms, or with one of SIDs
// (a socket id is also a room), minus those in any Except room; with
// neither Rooms nor SIDs, the whole namespace.
type Selector struct {
	NS     string   `json:"ns"`
	Rooms  []string `json:"rooms,omitempty"`
	SIDs   []string `json:"sids,omitempty"`
	Except []string `json:"except,omitempty"`
}

// EmitCommand is P.cmd.emit.
type EmitCommand struct {
	Selector
	Event        string          `json:"event"`
	Args         json.RawMessage `json:"args"`
	Attachments  [][]byte        `json:"attachments,omitempty"`
	Volatile     bool            `json:"volatile,omitempty"`
	AckTimeoutMS int             `json:"ack_timeout_ms,omitempty"`
}

// Ack is one client's answer to an emit with acks.
type Ack struct {
	SID         string          `json:"sid"`
	Args        json.RawMessage `json:"args"`
	Attachments [][]byte        `json:"attachments,omitempty"`
}

// CommandReply answers emit, join, leave and disconnect requests.
type CommandReply struct {
	OK           bool     `json:"ok"`
	Matched      int      `json:"matched"`
	Acks         []Ack    `json:"acks,omitempty"`
	TimedOut     int      `json:"timed_out,omitempty"`
	MissingNodes []string `json:"missing_nodes"`
	Error        *Error   `json:"error,omitempty"`
}

// RoomsCommand is P.cmd.join (Join) and P.cmd.leave (Leave).
type RoomsCommand struct {
	Selector
	Join  []string `json:"join,omitempty"`
	Leave []string `json:"leave,omitempty"`
}

// DisconnectCommand is P.cmd.disconnect; Close also closes the clients'
// whole connections.
type DisconnectCommand struct {
	Selector
	Close bool `json:"close,omitempty"`
}

// SocketInfo describes one socket.
type SocketInfo struct {
	SID   string          `json:"sid"`
	Node  string          `json:"node"`
	Rooms []string        `json:"rooms"`
	Data  json.RawMessage `json:"data"`
	User  string          `json:"user,omitempty"`
}

// SocketsReply answers P.cmd.sockets.
type SocketsReply struct {
	Sockets      []SocketInfo `json:"sockets"`
	Partial      bool         `json:"partial"`
	MissingNodes []string     `json:"missing_nodes"`
	Error        *Error       `json:"error,omitempty"`
}

// PresenceQuery is P.cmd.presence: the members of namespace NS, or of Room
// in it, or the sockets of User; one page of at most Limit (default 100,
// at most 1000), continued with the previous reply's Next as Cursor.
type PresenceQuery struct {
	NS     string `json:"ns"`
	Room   string `json:"room,omitempty"`
	User   string `json:"user,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// PresenceMember is one socket in a presence reply or event.
type PresenceMember struct {
	SID  string          `json:"sid"`
	Node string          `json:"node"`
	Data json.RawMessage `json:"data"`
	User string          `json:"user,omitempty"`
}

// PresenceReply answers P.cmd.presence: the counts of the whole selection
// and one page of members.
type PresenceReply struct {
	Count   int64            `json:"count"`
	Users   int64            `json:"users"`
	Members []PresenceMember `json:"members"`
	Next    string           `json:"next,omitempty"`
	Error   *Error           `json:"error,omitempty"`
}

// PresenceEvent is a message of P.presence.<ns>.<room> (Action "join" or
// "leave", with SID, Node, Data, User) or of P.user.<ns> (Action "online"
// or "offline", with User and Node).
type PresenceEvent struct {
	Action string          `json:"action"`
	SID    string          `json:"sid,omitempty"`
	Node   string          `json:"node"`
	Data   json.RawMessage `json:"data,omitempty"`
	User   string          `json:"user,omitempty"`
}
