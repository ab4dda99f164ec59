package socketio

import "fmt"

// Decoder decodes the stream of Engine.IO message payloads of one connection and reassembles
// binary packets: after a BINARY_EVENT or BINARY_ACK header announcing n attachments, the next n
// messages must be binary. The zero value is ready to use. A Decoder is not safe for concurrent
// use.
//
// After an error the partial packet, if any, is dropped; the reference server closes the
// connection on any decode error.
type Decoder struct {
	// MaxAttachments is the largest attachment count accepted in a header. Zero means
	// DefaultMaxAttachments (10).
	MaxAttachments int
	// MaxAttachmentBytes bounds the total size of the attachments of one packet. Zero means no
	// limit.
	MaxAttachmentBytes int64

	pending Packet // the binary packet being reassembled, when waiting
	waiting bool
	got     int   // attachments received so far
	size    int64 // their total size
	nsp     string
}

// Text feeds one text message payload (without the Engine.IO "4"). ok reports a complete packet:
// a text packet is complete at once, and so is a binary header announcing zero attachments (its
// Data may then hold no placeholder). A header announcing n > 0 attachments returns ok == false
// and waits for n Binary calls. A text message while attachments are pending is
// ErrUnexpectedText. The packet's Data aliases b: b must stay unchanged while the packet is in use,
// which for a binary header lasts until its last attachment has arrived.
//
// Text allocates nothing for a text packet, except the first time a namespace other than "/"
// appears (the Decoder remembers the last one).
func (d *Decoder) Text(b []byte) (p Packet, ok bool, err error) {
	if d.waiting {
		d.Reset()
		return Packet{}, false, ErrUnexpectedText
	}
	p, err = decode(b, d.MaxAttachments, &d.nsp)
	if err != nil {
		return Packet{}, false, err
	}
	if !p.Type.binary() {
		return p, true, nil
	}
	if len(p.Attachments) == 0 {
		if err := checkData(p.Data, 0); err != nil {
			return Packet{}, false, err
		}
		return p, true, nil
	}
	d.pending, d.waiting, d.got, d.size = p, true, 0, 0
	return Packet{}, false, nil
}

// Binary feeds one binary message. With no binary header pending it is ErrUnexpectedBinary. When
// the attachments exceed MaxAttachmentBytes it is ErrAttachmentsTooLarge. When the last
// attachment arrives, the placeholders in Data are validated (each well-formed, each num in
// [0, n); see CheckPlaceholders), else ErrPlaceholder, and the complete packet is returned with
// ok == true. Its Type stays BinaryEvent or BinaryAck. The decoder keeps b itself (no copy) in
// Attachments.
func (d *Decoder) Binary(b []byte) (p Packet, ok bool, err error) {
	if !d.waiting {
		return Packet{}, false, ErrUnexpectedBinary
	}
	d.size += int64(len(b))
	if d.MaxAttachmentBytes > 0 && d.size > d.MaxAttachmentBytes {
		d.Reset()
		return Packet{}, false, fmt.Errorf("%w: more than %d bytes", ErrAttachmentsTooLarge, d.MaxAttachmentBytes)
	}
	d.pending.Attachments[d.got] = b
	d.got++
	if d.got < len(d.pending.Attachments) {
		return Packet{}, false, nil
	}
	p = d.pending
	d.Reset()
	if err := checkData(p.Data, len(p.Attachments)); err != nil {
		return Packet{}, false, err
	}
	return p, true, nil
}

// checkData checks the placeholders of a payload, which may be absent (a BINARY_ACK without one).
func checkData(data []byte, n int) error {
	if data == nil {
		return nil
	}
	return CheckPlaceholders(data, n)
}

// Pending reports whether a binary packet is waiting for attachments.
func (d *Decoder) Pending() bool { return d.waiting }

// Reset drops any partial packet. The limits are kept.
func (d *Decoder) Reset() {
	d.pending, d.waiting, d.got, d.size = Packet{}, false, 0, 0
}
