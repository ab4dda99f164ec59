package wire

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// writer builds one msgpack message with a msgpack.Encoder writing into a bytes.Buffer. Writes to
// a bytes.Buffer cannot fail, so the Encoder's errors are not checked.
type writer struct {
	buf     bytes.Buffer
	e       *msgpack.Encoder
	counts  []int  // element counts of the containers of the JSON being converted, in order
	stack   []int  // open containers while counting
	scratch []byte // unescaped JSON strings
}

var writerPool = sync.Pool{New: func() any {
	w := new(writer)
	w.e = msgpack.NewEncoder(&w.buf)
	return w
}}

func getWriter() *writer {
	w := writerPool.Get().(*writer)
	w.buf.Reset()
	return w
}

func putWriter(w *writer) {
	if w.buf.Cap() > 64<<10 || cap(w.counts) > 4096 || cap(w.scratch) > 64<<10 {
		return // let an oversized one go rather than pin its memory
	}
	writerPool.Put(w)
}

// bytes returns a copy of the message built.
func (w *writer) bytes() []byte { return bytes.Clone(w.buf.Bytes()) }

func (w *writer) mapLen(n int)      { _ = w.e.EncodeMapLen(n) }
func (w *writer) arrayLen(n int)    { _ = w.e.EncodeArrayLen(n) }
func (w *writer) str(s string)      { _ = w.e.EncodeString(s) }
func (w *writer) int(n int64)       { _ = w.e.EncodeInt(n) }
func (w *writer) uint(n uint64)     { _ = w.e.EncodeUint(n) }
func (w *writer) float(f float64)   { _ = w.e.EncodeFloat64(f) }
func (w *writer) bool(b bool)       { _ = w.e.EncodeBool(b) }
func (w *writer) null()             { _ = w.e.EncodeNil() }
func (w *writer) strBytes(b []byte) { w.str(unsafe.String(unsafe.SliceData(b), len(b))) } // not retained

// bin writes b as msgpack bin (a nil slice is an empty binary, not nil).
func (w *writer) bin(b []byte) {
	if b == nil {
		b = []byte{}
	}
	_ = w.e.EncodeBytes(b)
}

func (w *writer) strs(list []string) {
	w.arrayLen(len(list))
	for _, s := range list {
		w.str(s)
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidData}, args...)...)
}

// jsonValue writes the JSON document data as msgpack, the way notepack.io encodes the value
// JSON.parse would give (see doc.go). With placeholders, each placeholder object becomes the bin
// of its attachment. data must have been validated (socketio.CheckPlaceholders, or json.Valid
// without placeholders); the conversion still checks every bound and never panics.
func (w *writer) jsonValue(data []byte, atts [][]byte, placeholders bool) error {
	w.counts = w.countContainers(w.counts[:0], data)
	p := jparser{b: data, counts: w.counts}
	if err := w.emit(&p, atts, placeholders, 0); err != nil {
		return err
	}
	if p.ws(); p.i != len(p.b) {
		return invalid("data after the JSON value")
	}
	return nil
}

// countContainers returns the element count of each array and object of the valid JSON b, in
// the order they open (msgpack writes a count before the elements).
func (w *writer) countContainers(dst []int, b []byte) []int {
	stack := w.stack[:0]
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\n', '\r', ':':
			continue
		case ',':
			if len(stack) > 0 {
				dst[stack[len(stack)-1]]++
			}
			continue
		case ']', '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if len(stack) > 0 { // a key or value inside the innermost container: it is not empty
			if top := stack[len(stack)-1]; dst[top] == 0 {
				dst[top] = 1
			}
		}
		switch c {
		case '[', '{':
			dst = append(dst, 0)
			stack = append(stack, len(dst)-1)
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		}
	}
	w.stack = stack
	return dst
}

// jparser walks a JSON document that is known to be valid.
type jparser struct {
	b      []byte
	i      int
	counts []int
	ci     int // next entry of counts
}

func (p *jparser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// expect consumes c, after whitespace.
func (p *jparser) expect(c byte) error {
	if p.ws(); p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return nil
	}
	return invalid("malformed JSON at offset %d", p.i)
}

func (p *jparser) count() (int, error) {
	if p.ci >= len(p.counts) {
		return 0, invalid("malformed JSON at offset %d", p.i)
	}
	n := p.counts[p.ci]
	p.ci++
	return n, nil
}

// stringEnd returns the offset just past the string starting at b[i] == '"', or -1.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++
		}
	}
	return -1
}

func (w *writer) emit(p *jparser, atts [][]byte, placeholders bool, depth int) error {
	if p.ws(); p.i >= len(p.b) {
		return invalid("unexpected end of JSON")
	}
	switch c := p.b[p.i]; c {
	case '{':
		n, err := p.count()
		if err != nil {
			return err
		}
		if placeholders && n == 2 {
			if num, end, ok := placeholderAt(p.b, p.i); ok {
				if num >= len(atts) {
					return invalid("placeholder %d out of range, %d attachments", num, len(atts))
				}
				w.bin(atts[num])
				p.i = end
				return nil
			}
		}
		if depth >= MaxDepth {
			return invalid("nested deeper than %d", MaxDepth)
		}
		w.mapLen(n)
		p.i++
		for k := 0; k < n; k++ {
			if k > 0 {
				if err := p.expect(','); err != nil {
					return err
				}
			}
			if p.ws(); p.i >= len(p.b) || p.b[p.i] != '"' {
				return invalid("malformed JSON object at offset %d", p.i)
			}
			if err := w.jsonString(p); err != nil {
				return err
			}
			if err := p.expect(':'); err != nil {
				return err
			}
			if err := w.emit(p, atts, placeholders, depth+1); err != nil {
				return err
			}
		}
		return p.expect('}')
	case '[':
		n, err := p.count()
		if err != nil {
			return err
		}
		if depth >= MaxDepth {
			return invalid("nested deeper than %d", MaxDepth)
		}
		w.arrayLen(n)
		p.i++
		for k := 0; k < n; k++ {
			if k > 0 {
				if err := p.expect(','); err != nil {
					return err
				}
			}
			if err := w.emit(p, atts, placeholders, depth+1); err != nil {
				return err
			}
		}
		return p.expect(']')
	case '"':
		return w.jsonString(p)
	case 't':
		return w.literal(p, "true", func() { w.bool(true) })
	case 'f':
		return w.literal(p, "false", func() { w.bool(false) })
	case 'n':
		return w.literal(p, "null", w.null)
	}
	return w.jsonNumber(p)
}

func (w *writer) literal(p *jparser, lit string, write func()) error {
	if !bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		return invalid("malformed JSON literal at offset %d", p.i)
	}
	p.i += len(lit)
	write()
	return nil
}

func (w *writer) jsonString(p *jparser) error {
	end := stringEnd(p.b, p.i)
	if end < 0 {
		return invalid("unterminated JSON string at offset %d", p.i)
	}
	raw := p.b[p.i+1 : end-1]
	p.i = end
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		w.strBytes(raw)
		return nil
	}
	w.scratch = socketio.AppendUnquoted(w.scratch[:0], raw)
	w.strBytes(w.scratch)
	return nil
}

// jsonNumber writes a JSON number as notepack writes the JavaScript number: an integral value as
// the smallest msgpack int (uint up to uint64, int down to int64; Go keeps the exact value of
// large integers where JavaScript would round), anything else as float64.
func (w *writer) jsonNumber(p *jparser) error {
	start := p.i
	integral := true
	for ; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		if c == '.' || c == 'e' || c == 'E' {
			integral = false
		} else if (c < '0' || c > '9') && c != '-' && c != '+' {
			break
		}
	}
	text := unsafe.String(unsafe.SliceData(p.b[start:p.i]), p.i-start) // not retained
	if text == "" {
		return invalid("malformed JSON at offset %d", start)
	}
	if integral {
		if text[0] == '-' {
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				w.int(n)
				return nil
			}
		} else if n, err := strconv.ParseUint(text, 10, 64); err == nil {
			w.uint(n)
			return nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && f == 0 { // a range error keeps ±Inf (JSON.parse gives Infinity) or ±0
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return invalid("malformed JSON number %q", text)
		}
	}
	switch {
	case f != math.Trunc(f) || math.IsInf(f, 0):
		w.float(f)
	case f >= -(1<<63) && f < 1<<63:
		w.int(int64(f)) // -0 included: notepack writes it as 0
	case f >= 0 && f < 1<<64:
		w.uint(uint64(f))
	default:
		w.float(f)
	}
	return nil
}

// placeholderAt recognises the placeholder object starting at b[i] == '{' in a document that
// passed socketio.CheckPlaceholders: there, an object with a member "_placeholder" whose value is
// true is a well-formed placeholder {"_placeholder":true,"num":N}. It returns N and the offset
// past the object.
func placeholderAt(b []byte, i int) (num, end int, ok bool) {
	p := jparser{b: b, i: i + 1}
	isPH := false
	var numText []byte
	for m := 0; m < 2; m++ {
		if m > 0 && p.expect(',') != nil {
			return 0, 0, false
		}
		if p.ws(); p.i >= len(b) || b[p.i] != '"' {
			return 0, 0, false
		}
		kEnd := stringEnd(b, p.i)
		if kEnd < 0 {
			return 0, 0, false
		}
		key := b[p.i+1 : kEnd-1]
		p.i = kEnd
		if p.expect(':') != nil {
			return 0, 0, false
		}
		p.ws()
		vStart := p.i
		for p.i < len(b) && b[p.i] != ',' && b[p.i] != '}' && b[p.i] != ' ' && b[p.i] != '\t' &&
			b[p.i] != '\n' && b[p.i] != '\r' {
			if c := b[p.i]; c == '{' || c == '[' || c == '"' {
				return 0, 0, false // not a scalar: not a placeholder
			}
			p.i++
		}
		v := b[vStart:p.i]
		switch {
		case keyIs(key, "_placeholder"):
			isPH = string(v) == "true"
		case keyIs(key, "num"):
			numText = v
		}
	}
	if !isPH || p.expect('}') != nil {
		return 0, 0, false
	}
	n, err := strconv.Atoi(string(numText))
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return n, p.i, true
}

// keyIs reports whether the raw contents of a JSON string unescape to want.
func keyIs(raw []byte, want string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == want
	}
	if len(raw) > 6*len(want) {
		return false
	}
	var buf [64]byte
	return string(socketio.AppendUnquoted(buf[:0], raw)) == want
}
