package socketio

import "errors"

// Sentinel errors. Every error of the decoding side (Decode, Decoder, SplitArray, EventName,
// CheckPlaceholders, ResolvePlaceholders) wraps exactly one of them; test with errors.Is.
// AppendEventData and AppendAckData return ErrReservedEvent or encoding/json's error types.
var (
	// ErrInvalidType: the first character is not a packet type digit 0–6.
	ErrInvalidType = errors.New("socketio: invalid packet type")
	// ErrInvalidAttachments: a malformed "<n>-" attachment header, or n above the limit.
	ErrInvalidAttachments = errors.New("socketio: invalid attachments header")
	// ErrInvalidNamespace: a namespace that is not acceptable. Decode never returns it: the reference
	// decoder accepts any text from '/' up to ',' as a namespace. It is kept for callers (and future
	// checks) that validate namespaces.
	ErrInvalidNamespace = errors.New("socketio: invalid namespace")
	// ErrInvalidID: an ack id that does not fit in a uint64.
	ErrInvalidID = errors.New("socketio: invalid ack id")
	// ErrInvalidPayload: the payload is not valid JSON or has the wrong shape for the packet type.
	ErrInvalidPayload = errors.New("socketio: invalid payload")
	// ErrReservedEvent: the event name is reserved (see IsReserved).
	ErrReservedEvent = errors.New("socketio: reserved event name")
	// ErrUnexpectedBinary: a binary message arrived while no attachment was expected.
	ErrUnexpectedBinary = errors.New("socketio: unexpected binary message")
	// ErrUnexpectedText: a text message arrived while attachments were still expected.
	ErrUnexpectedText = errors.New("socketio: unexpected text message while reconstructing a binary packet")
	// ErrPlaceholder: a malformed placeholder object or a placeholder num out of range.
	ErrPlaceholder = errors.New("socketio: invalid attachment placeholder")
	// ErrAttachmentsTooLarge: the attachments of one packet exceed Decoder.MaxAttachmentBytes.
	ErrAttachmentsTooLarge = errors.New("socketio: attachments too large")
)
