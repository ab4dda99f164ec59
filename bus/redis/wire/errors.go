package wire

import "errors"

// Sentinel errors. Every error returned by the package wraps exactly one of them; test with
// errors.Is. Errors about placeholders given to an encoder also wrap socketio.ErrPlaceholder.
var (
	// ErrMalformed: a received message is not one this package can decode: invalid msgpack or
	// JSON, trailing bytes, a field of the wrong type, a missing mandatory field, a container
	// nested deeper than MaxDepth, a length running past the end of the input, or a msgpack map
	// that would read back as an attachment placeholder (see doc.go).
	ErrMalformed = errors.New("wire: malformed message")
	// ErrInvalidData: a value given to an encoder cannot be encoded: raw JSON that is not valid
	// (or not an array where one is required), a placeholder that does not match the
	// attachments, nesting deeper than MaxDepth, or contradictory fields.
	ErrInvalidData = errors.New("wire: invalid data")
)
