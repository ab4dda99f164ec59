package nats

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/switchboard-rt/switchboard/bus"
)

// The envelope is a compact binary framing (see doc.go for the layout):
// uvarint lengths, no escaping, payload bytes copied verbatim. A broadcast
// is encoded once into a pooled buffer and published unchanged on each of
// its subjects; a receiver decodes it once, its Data and Attachments
// aliasing the received message (nats.go allocates a fresh payload for
// every message and the adapter never writes to it).

const wireVersion = 1

// Message kinds (byte 1 of every envelope).
const (
	kindBroadcast = 1
	kindRequest   = 2
	kindReply     = 3
	kindHeartbeat = 4
	kindPing      = 5
	kindPong      = 6
)

// headerLen is version, kind and the 8-byte instance id of the sender.
const headerLen = 10

// seqOffset is where a broadcast's fixed-width sequence number sits.
const seqOffset = headerLen

var (
	errMalformed = errors.New("bus/nats: malformed envelope")
	errVersion   = errors.New("bus/nats: unknown envelope version")
	errKind      = errors.New("bus/nats: unexpected message kind")
)

func appendHeader(dst []byte, kind byte, inst uint64) []byte {
	dst = append(dst, wireVersion, kind)
	return binary.LittleEndian.AppendUint64(dst, inst)
}

// peekHeader reads the kind and sender instance of an envelope.
func peekHeader(b []byte) (kind byte, inst uint64, err error) {
	if len(b) < headerLen {
		return 0, 0, errMalformed
	}
	if b[0] != wireVersion {
		return 0, 0, errVersion
	}
	return b[1], binary.LittleEndian.Uint64(b[2:headerLen]), nil
}

func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendNullable writes b as its length plus one, 0 standing for nil.
func appendNullable(dst, b []byte) []byte {
	if b == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b))+1)
	return append(dst, b...)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

// appendSelector writes the room and except counts, every length, then all
// the names back to back, so that a decoder makes one string of them.
func appendSelector(dst []byte, sel *bus.Selector) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(sel.Rooms)))
	dst = binary.AppendUvarint(dst, uint64(len(sel.Except)))
	for _, r := range sel.Rooms {
		dst = binary.AppendUvarint(dst, uint64(len(r)))
	}
	for _, r := range sel.Except {
		dst = binary.AppendUvarint(dst, uint64(len(r)))
	}
	for _, r := range sel.Rooms {
		dst = append(dst, r...)
	}
	for _, r := range sel.Except {
		dst = append(dst, r...)
	}
	return dst
}

func appendMessage(dst []byte, m *bus.Message) []byte {
	dst = appendBytes(dst, m.Data)
	dst = binary.AppendUvarint(dst, uint64(len(m.Attachments)))
	for _, a := range m.Attachments {
		dst = appendBytes(dst, a)
	}
	return dst
}

// reader decodes an envelope; the first error sticks and later reads
// return zero values, so callers check err once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err = errMalformed; r.b = nil }

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a number of elements, each taking at least one byte.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

// bytes returns a length-prefixed slice aliasing the input.
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) nullable() []byte {
	n := r.uvarint()
	if n == 0 || r.err != nil {
		return nil
	}
	n--
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) strings() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.string()
	}
	if r.err != nil {
		return nil
	}
	return out
}

// selector decodes appendSelector's form with three allocations at most:
// the names' string, their slice, and nothing else.
func (r *reader) selector(sel *bus.Selector) {
	nr := r.count()
	ne := r.count()
	if r.err != nil || nr+ne > len(r.b) {
		r.fail()
		return
	}
	if nr+ne == 0 {
		*sel = bus.Selector{}
		return
	}
	var lens [16]int
	ls := lens[:0]
	total := 0
	for i := 0; i < nr+ne; i++ {
		n := r.uvarint()
		if n > uint64(len(r.b)) {
			r.fail()
			return
		}
		total += int(n)
		ls = append(ls, int(n))
	}
	if total > len(r.b) {
		r.fail()
		return
	}
	blob := string(r.b[:total])
	r.b = r.b[total:]
	names := make([]string, nr+ne)
	off := 0
	for i, n := range ls {
		names[i] = blob[off : off+n]
		off += n
	}
	sel.Rooms, sel.Except = nil, nil
	if nr > 0 {
		sel.Rooms = names[:nr:nr]
	}
	if ne > 0 {
		sel.Except = names[nr:]
	}
}

func (r *reader) message(m *bus.Message) {
	data := r.bytes()
	if len(data) > 0 {
		m.Data = data
	} else {
		m.Data = nil
	}
	n := r.count()
	if r.err != nil || n == 0 {
		m.Attachments = nil
		return
	}
	m.Attachments = make([][]byte, n)
	for i := range m.Attachments {
		m.Attachments[i] = r.bytes()
	}
	if r.err != nil {
		m.Attachments = nil
	}
}

// end fails unless the whole input was read.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return r.err
}

const flagVolatile = 1

// appendBroadcast encodes b as sent by instance inst. The sequence number
// is written as 0; setSeq patches it in the encoded bytes.
//
//	version kind=1 instance:8 seq:8 flags selector message
func appendBroadcast(dst []byte, inst uint64, b *bus.Broadcast) []byte {
	dst = appendHeader(dst, kindBroadcast, inst)
	dst = binary.LittleEndian.AppendUint64(dst, 0)
	var flags byte
	if b.Volatile {
		flags |= flagVolatile
	}
	dst = append(dst, flags)
	dst = appendSelector(dst, &b.Selector)
	return appendMessage(dst, &b.Message)
}

// setSeq writes a broadcast's sequence number into its encoding.
func setSeq(enc []byte, seq uint64) {
	binary.LittleEndian.PutUint64(enc[seqOffset:], seq)
}

// decodeBroadcast decodes an envelope of kind broadcast into out, returning
// the sender's instance and the sequence number (0: sent on one subject).
func decodeBroadcast(data []byte, out *bus.Broadcast) (inst, seq uint64, err error) {
	kind, inst, err := peekHeader(data)
	if err != nil {
		return 0, 0, err
	}
	if kind != kindBroadcast {
		return 0, 0, errKind
	}
	r := reader{b: data[headerLen:]}
	seq = r.u64()
	flags := r.byte()
	r.selector(&out.Selector)
	r.message(&out.Message)
	out.Volatile = flags&flagVolatile != 0
	if err := r.end(); err != nil {
		return 0, 0, err
	}
	return inst, seq, nil
}

// bufPool holds encoding buffers; nats.go copies a published payload, so a
// buffer is reusable as soon as Publish returns.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
