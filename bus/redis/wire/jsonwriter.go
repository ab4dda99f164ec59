package wire

import (
	"encoding/json"
	"strconv"
	"unsafe"
)

// fieldWriter is what EncodeRequest and EncodeResponse write through: the msgpack writer, or
// jsonWriter for the JSON encoding. Keys are written in the order of the calls.
type fieldWriter interface {
	mapLen(n int)
	key(k string)
	endMap()
	arrayLen(n int)
	endArray()
	str(s string)
	int(n int64)
	bool(b bool)
	strs(list []string)
	raw(v json.RawMessage, atts [][]byte) error // a JSON value; placeholders index atts
	packet(p *Packet) error
}

var (
	_ fieldWriter = (*writer)(nil)
	_ fieldWriter = (*jsonWriter)(nil)
)

func (w *writer) key(k string) { w.str(k) }
func (w *writer) endMap()      {}
func (w *writer) endArray()    {}

func (w *writer) raw(v json.RawMessage, atts [][]byte) error {
	if err := checkData(v, atts, false); err != nil {
		return err
	}
	return w.jsonValue(v, atts, len(atts) > 0)
}

// jsonWriter writes the JSON form of a request or response, as JSON.stringify would.
type jsonWriter struct {
	buf   []byte
	stack []jsonLevel
}

type jsonLevel struct {
	n     int // members or elements written
	array bool
}

// elem writes the comma before an array element.
func (w *jsonWriter) elem() {
	if len(w.stack) == 0 {
		return
	}
	if top := &w.stack[len(w.stack)-1]; top.array {
		if top.n > 0 {
			w.buf = append(w.buf, ',')
		}
		top.n++
	}
}

func (w *jsonWriter) mapLen(int) {
	w.elem()
	w.buf = append(w.buf, '{')
	w.stack = append(w.stack, jsonLevel{})
}

func (w *jsonWriter) key(k string) {
	if top := &w.stack[len(w.stack)-1]; top.n > 0 {
		w.buf = append(w.buf, ',')
	}
	w.stack[len(w.stack)-1].n++
	w.buf = append(appendJSStr(w.buf, k), ':')
}

func (w *jsonWriter) endMap() {
	w.buf = append(w.buf, '}')
	w.stack = w.stack[:len(w.stack)-1]
}

func (w *jsonWriter) arrayLen(int) {
	w.elem()
	w.buf = append(w.buf, '[')
	w.stack = append(w.stack, jsonLevel{array: true})
}

func (w *jsonWriter) endArray() {
	w.buf = append(w.buf, ']')
	w.stack = w.stack[:len(w.stack)-1]
}

func (w *jsonWriter) str(s string) {
	w.elem()
	w.buf = appendJSStr(w.buf, s)
}

func (w *jsonWriter) int(n int64) {
	w.elem()
	w.buf = strconv.AppendInt(w.buf, n, 10)
}

func (w *jsonWriter) bool(b bool) {
	w.elem()
	w.buf = strconv.AppendBool(w.buf, b)
}

func (w *jsonWriter) strs(list []string) {
	w.arrayLen(len(list))
	for _, s := range list {
		w.str(s)
	}
	w.endArray()
}

// raw writes v verbatim. Binary cannot travel in JSON: callers choose msgpack when there are
// attachments, so placeholders in v are plain objects here.
func (w *jsonWriter) raw(v json.RawMessage, _ [][]byte) error {
	if !json.Valid(v) {
		return invalid("raw value is not valid JSON")
	}
	w.elem()
	w.buf = append(w.buf, v...)
	return nil
}

func (w *jsonWriter) packet(*Packet) error {
	return invalid("a packet is only encoded in msgpack")
}

// appendJSStr is appendJSString for a string (read, not retained).
func appendJSStr(dst []byte, s string) []byte {
	return appendJSString(dst, unsafe.Slice(unsafe.StringData(s), len(s)))
}
