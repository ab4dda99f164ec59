package engineio

import (
	"bytes"
	"fmt"
)

// DecodePayload splits a polling payload into packets and calls fn for each, in
// order, stopping at the first error. Packets alias body (base64 ones excepted).
// An empty body is an error: a client never posts nothing.
func DecodePayload(body []byte, fn func(Packet) error) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: empty payload", ErrInvalidPacket)
	}
	for {
		i := bytes.IndexByte(body, Separator)
		rec := body
		if i >= 0 {
			rec = body[:i]
		}
		p, err := DecodeText(rec)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if i < 0 {
			return nil
		}
		body = body[i+1:]
	}
}

// AppendPayload appends p to a polling payload under construction, writing the
// separator first unless dst is empty.
func AppendPayload(dst []byte, p Packet) []byte {
	if len(dst) > 0 {
		dst = append(dst, Separator)
	}
	return AppendText(dst, p)
}
