package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// reader decodes one msgpack message. It drives a msgpack.Decoder over a bytes.Reader (which the
// Decoder uses unbuffered), so the read offset into src is known: strings and binary values are
// then taken from src after a bounds check, without trusting a length prefix for an allocation.
type reader struct {
	src []byte
	br  bytes.Reader
	d   *msgpack.Decoder
	// phMaps counts the maps read by value that have a "_placeholder": true member: in JSON
	// they would read as attachment placeholders, so a value may not mix them with binary.
	phMaps  int
	scratch []byte // JSON being built by value
}

var readerPool = sync.Pool{New: func() any {
	r := new(reader)
	r.d = msgpack.NewDecoder(&r.br)
	return r
}}

func getReader(b []byte) *reader {
	r := readerPool.Get().(*reader)
	r.src = b
	r.br.Reset(b)
	r.phMaps = 0
	return r
}

func putReader(r *reader) {
	r.src = nil
	r.br.Reset(nil)
	if cap(r.scratch) > 64<<10 {
		r.scratch = nil
	}
	readerPool.Put(r)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// libErr wraps an error of the msgpack library (an unexpected code, the end of the input).
func libErr(what string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return malformed("%s: unexpected end of input", what)
	}
	return malformed("%s: %v", what, err)
}

func (r *reader) pos() int { return len(r.src) - r.br.Len() }

// done reports an error unless the whole input was consumed (notepack refuses trailing bytes).
func (r *reader) done() error {
	if n := r.br.Len(); n != 0 {
		return malformed("%d trailing bytes", n)
	}
	return nil
}

// consume drops the byte that peek (or a look at src) has just shown to be there.
func (r *reader) consume() { _, _ = r.br.ReadByte() }

func (r *reader) peek() (byte, error) {
	c, err := r.d.PeekCode()
	if err != nil {
		return 0, libErr("value", err)
	}
	return c, nil
}

// take returns the next n bytes of the input, aliasing src.
func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || n > r.br.Len() {
		return nil, malformed("length %d runs past the end of the input", n)
	}
	p := r.pos()
	if _, err := r.br.Seek(int64(n), io.SeekCurrent); err != nil {
		return nil, libErr("value", err)
	}
	return r.src[p : p+n : p+n], nil
}

// rawBytes reads a str or bin value (the code was checked by the caller) and returns its
// contents, aliasing src.
func (r *reader) rawBytes() ([]byte, error) {
	n, err := r.d.DecodeBytesLen()
	if err != nil {
		return nil, libErr("string", err)
	}
	return r.take(n)
}

// strBytes reads a str value, aliasing src.
func (r *reader) strBytes(what string) ([]byte, error) {
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if !msgpcode.IsString(c) {
		return nil, malformed("%s: want a string, got code %#x", what, c)
	}
	return r.rawBytes()
}

// optString reads a str or nil value ("" for nil).
func (r *reader) optString(what string) (string, error) {
	if c, err := r.peek(); err != nil {
		return "", err
	} else if c == msgpcode.Nil {
		r.consume()
		return "", nil
	}
	b, err := r.strBytes(what)
	return text(b), err
}

// mapLen reads a map header, or reports ok=false for nil.
func (r *reader) mapLen(what string) (n int, ok bool, err error) {
	c, err := r.peek()
	if err != nil {
		return 0, false, err
	}
	if c == msgpcode.Nil {
		r.consume()
		return 0, false, nil
	}
	if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return 0, false, malformed("%s: want a map, got code %#x", what, c)
	}
	if n, err = r.d.DecodeMapLen(); err != nil {
		return 0, false, libErr(what, err)
	}
	if n > r.br.Len()/2 {
		return 0, false, malformed("%s: %d entries cannot fit in %d bytes", what, n, r.br.Len())
	}
	return n, true, nil
}

// arrayLen reads an array header, or reports ok=false for nil.
func (r *reader) arrayLen(what string) (n int, ok bool, err error) {
	c, err := r.peek()
	if err != nil {
		return 0, false, err
	}
	if c == msgpcode.Nil {
		r.consume()
		return 0, false, nil
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return 0, false, malformed("%s: want an array, got code %#x", what, c)
	}
	if n, err = r.d.DecodeArrayLen(); err != nil {
		return 0, false, libErr(what, err)
	}
	if n > r.br.Len() {
		return 0, false, malformed("%s: %d elements cannot fit in %d bytes", what, n, r.br.Len())
	}
	return n, true, nil
}

func isUintCode(c byte) bool {
	return c <= msgpcode.PosFixedNumHigh || c == msgpcode.Uint8 || c == msgpcode.Uint16 ||
		c == msgpcode.Uint32 || c == msgpcode.Uint64
}

func isIntCode(c byte) bool {
	return c >= msgpcode.NegFixedNumLow || c == msgpcode.Int8 || c == msgpcode.Int16 ||
		c == msgpcode.Int32 || c == msgpcode.Int64
}

func isFloatCode(c byte) bool { return c == msgpcode.Float || c == msgpcode.Double }

func isMapCode(c byte) bool {
	return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32
}

func isArrayCode(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

// number reads any msgpack number. Exactly one of the results is meaningful, per kind.
type number struct {
	kind byte // 'u', 'i' or 'f'
	u    uint64
	i    int64
	f    float64
}

func (r *reader) number(c byte) (n number, err error) {
	switch {
	case isUintCode(c):
		n.kind = 'u'
		n.u, err = r.d.DecodeUint64()
	case isIntCode(c):
		n.kind = 'i'
		n.i, err = r.d.DecodeInt64()
	case c == msgpcode.Float:
		var f float32
		f, err = r.d.DecodeFloat32()
		n.kind, n.f = 'f', float64(f)
	default:
		n.kind = 'f'
		n.f, err = r.d.DecodeFloat64()
	}
	if err != nil {
		return n, libErr("number", err)
	}
	return n, nil
}

// integer reads a number that must be an integer in [lo, hi] (an integral float is accepted).
func (r *reader) integer(what string, lo, hi int64) (int64, error) {
	c, err := r.peek()
	if err != nil {
		return 0, err
	}
	if !isUintCode(c) && !isIntCode(c) && !isFloatCode(c) {
		return 0, malformed("%s: want a number, got code %#x", what, c)
	}
	n, err := r.number(c)
	if err != nil {
		return 0, err
	}
	var v int64
	switch n.kind {
	case 'u':
		if n.u > uint64(hi) {
			return 0, malformed("%s: %d out of range", what, n.u)
		}
		v = int64(n.u)
	case 'i':
		v = n.i
	default:
		if n.f != n.f || n.f < float64(lo) || n.f > float64(hi) || n.f != float64(int64(n.f)) {
			return 0, malformed("%s: %v is not an integer in range", what, n.f)
		}
		v = int64(n.f)
	}
	if v < lo || v > hi {
		return 0, malformed("%s: %d out of range", what, v)
	}
	return v, nil
}

// truthy reads any value and reports JavaScript truthiness; set is false for nil and undefined.
func (r *reader) truthy(what string) (v, set bool, err error) {
	c, err := r.peek()
	if err != nil {
		return false, false, err
	}
	switch {
	case c == msgpcode.Nil:
		r.consume()
		return false, false, nil
	case c == msgpcode.True || c == msgpcode.False:
		r.consume()
		return c == msgpcode.True, true, nil
	case isUintCode(c) || isIntCode(c) || isFloatCode(c):
		n, err := r.number(c)
		if err != nil {
			return false, false, err
		}
		return n.u != 0 || n.i != 0 || n.f == n.f && n.f != 0, true, nil
	case msgpcode.IsString(c):
		b, err := r.rawBytes()
		return len(b) > 0, true, err
	}
	// Containers, binary values, dates are objects: truthy. undefined is unset.
	undef, err := r.skip(what, 0)
	return !undef, !undef, err
}

// skip reads past one value of any kind and reports whether it was notepack 2's undefined.
func (r *reader) skip(what string, depth int) (undefined bool, err error) {
	c, err := r.peek()
	if err != nil {
		return false, err
	}
	switch {
	case isMapCode(c):
		n, _, err := r.mapLen(what)
		if err != nil {
			return false, err
		}
		if depth >= MaxDepth {
			return false, malformed("%s: nested deeper than %d", what, MaxDepth)
		}
		for i := 0; i < 2*n; i++ {
			if _, err := r.skip(what, depth+1); err != nil {
				return false, err
			}
		}
		return false, nil
	case isArrayCode(c):
		n, _, err := r.arrayLen(what)
		if err != nil {
			return false, err
		}
		if depth >= MaxDepth {
			return false, malformed("%s: nested deeper than %d", what, MaxDepth)
		}
		for i := 0; i < n; i++ {
			if _, err := r.skip(what, depth+1); err != nil {
				return false, err
			}
		}
		return false, nil
	case msgpcode.IsString(c) || msgpcode.IsBin(c):
		_, err := r.rawBytes()
		return false, err
	case msgpcode.IsExt(c):
		typ, body, err := r.ext()
		return err == nil && typ == 0 && c == msgpcode.FixExt1 && len(body) == 1, err
	}
	if err := r.d.Skip(); err != nil {
		return false, libErr(what, err)
	}
	return false, nil
}

// ext reads an extension value: its type and body (aliasing src).
func (r *reader) ext() (typ int8, body []byte, err error) {
	typ, n, err := r.d.DecodeExtHeader()
	if err != nil {
		return 0, nil, libErr("ext", err)
	}
	body, err = r.take(n)
	return typ, body, err
}

// field reads a map key naming a field. ok is false when the whole entry has been consumed
// because it names no field: a key that is not a string (no peer writes one), or a value that is
// notepack 2's undefined (a JavaScript object reads undefined and absent members alike).
//
// A known field name seen twice in one map is an error: JavaScript would keep the last value, but
// the binary values of the first would already be numbered among the attachments.
func (r *reader) field(what string, seen *uint32) (key []byte, ok bool, err error) {
	c, err := r.peek()
	if err != nil {
		return nil, false, err
	}
	if !msgpcode.IsString(c) {
		if _, err := r.skip(what, 1); err != nil {
			return nil, false, err
		}
		_, err := r.skip(what, 1)
		return nil, false, err
	}
	if key, err = r.rawBytes(); err != nil {
		return nil, false, err
	}
	if bit := fieldBits[string(key)]; bit != 0 {
		if *seen&bit != 0 {
			return nil, false, malformed("%s: duplicate key %q", what, key)
		}
		*seen |= bit
	}
	if r.nextIsUndefined() {
		_, _ = r.take(3) // cannot fail: checked by nextIsUndefined
		return nil, false, nil
	}
	return key, true, nil
}

// fieldBits gives each field name of the messages a bit, for field's duplicate check.
var fieldBits = func() map[string]uint32 {
	m := make(map[string]uint32)
	for i, k := range []string{
		"uid", "requestId", "type", "opts", "rooms", "close", "data", "packet", "sid", "room", "nsp",
		"id", "sockets", "clientCount", "handshake", "except", "flags", "volatile", "compress",
		"local", "broadcast", "binary", "timeout", "matched", "user",
	} {
		m[k] = 1 << i
	}
	return m
}()

// nextIsUndefined reports whether the next value is notepack 2's undefined, fixext1 type 0.
func (r *reader) nextIsUndefined() bool {
	p := r.pos()
	return len(r.src)-p >= 3 && r.src[p] == msgpcode.FixExt1 && r.src[p+1] == 0
}

// nextIsNil consumes a nil value if one comes next.
func (r *reader) nextIsNil() bool {
	if p := r.pos(); p < len(r.src) && r.src[p] == msgpcode.Nil {
		r.consume()
		return true
	}
	return false
}

// rawValue reads any value as JSON (see value) into a new slice; ok is false for undefined.
// Binary values are appended to atts.
func (r *reader) rawValue(atts *[][]byte) (raw []byte, ok bool, err error) {
	out, undef, err := r.value(r.scratch[:0], atts, 0)
	r.scratch = out
	if err != nil || undef {
		return nil, false, err
	}
	return append(make([]byte, 0, len(out)), out...), true, nil
}

// arrayValue reads an array as JSON into *dst, its binary values into *atts.
func (r *reader) arrayValue(what string, dst *json.RawMessage, atts *[][]byte) error {
	c, err := r.peek()
	if err != nil {
		return err
	}
	if !isArrayCode(c) {
		return malformed("%s: want an array, got code %#x", what, c)
	}
	*dst, _, err = r.rawValue(atts)
	return err
}

// rooms reads a list of rooms (see room). nil is a nil list, an empty array an empty one.
func (r *reader) rooms(what string) ([]string, error) {
	n, ok, err := r.arrayLen(what)
	if err != nil || !ok {
		return nil, err
	}
	list := make([]string, 0, n) // not nil when empty: the field was there
	for i := 0; i < n; i++ {
		room, err := r.room(what)
		if err != nil {
			return nil, err
		}
		list = append(list, room)
	}
	return list, nil
}

// room reads a room: a string, or a number (a JavaScript room may be one) written as
// JavaScript's String(number).
func (r *reader) room(what string) (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	if msgpcode.IsString(c) {
		b, err := r.rawBytes()
		return text(b), err
	}
	if !isUintCode(c) && !isIntCode(c) && !isFloatCode(c) {
		return "", malformed("%s: a room must be a string or a number, got code %#x", what, c)
	}
	n, err := r.number(c)
	if err != nil {
		return "", err
	}
	var buf [32]byte
	return string(appendNumber(buf[:0], n, true)), nil
}

// millis reads a duration in milliseconds: a number, truncated toward zero.
func (r *reader) millis(what string) (int64, error) {
	c, err := r.peek()
	if err != nil {
		return 0, err
	}
	if isFloatCode(c) {
		n, err := r.number(c)
		if err != nil {
			return 0, err
		}
		if n.f != n.f || n.f < math.MinInt32 || n.f > math.MaxInt32 {
			return 0, malformed("%s: %v out of range", what, n.f)
		}
		return int64(n.f), nil
	}
	return r.integer(what, math.MinInt32, math.MaxInt32)
}

// checkPlaceholderMaps refuses a value (or the values sharing one attachment list) that holds
// both binary and maps shaped like placeholders: with attachments, every placeholder-shaped
// object is read as a placeholder (as socket.io-parser does), and a literal one could not be told
// from the binary it would then stand for. Without binary, such maps are plain data, as they are
// in a Socket.IO EVENT. since is the value of r.phMaps before the values were read.
func (r *reader) checkPlaceholderMaps(since int, atts [][]byte) error {
	if r.phMaps > since && len(atts) > 0 {
		return malformed(`binary and a map with "_placeholder": true in one value`)
	}
	return nil
}
