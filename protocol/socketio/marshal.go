package socketio

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// maxEncodeDepth bounds the nesting of encoded arguments; beyond it a value is taken for a cycle.
const maxEncodeDepth = 1000

// encoder writes event and ack arguments as JSON, replacing []byte values by placeholders.
type encoder struct {
	buf []byte
	att [][]byte
}

func (e *encoder) placeholder(b []byte) {
	e.buf = append(e.buf, `{"_placeholder":true,"num":`...)
	e.buf = strconv.AppendUint(e.buf, uint64(len(e.att)), 10)
	e.buf = append(e.buf, '}')
	if e.att == nil {
		e.att = make([][]byte, 0, 4)
	}
	e.att = append(e.att, b)
}

// any encodes v; the common dynamic types are handled without reflection.
func (e *encoder) any(v any, depth int) error {
	var err error
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendString(e.buf, x, true)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case float64:
		e.buf, err = appendFloat(e.buf, x, 64)
	case float32:
		e.buf, err = appendFloat(e.buf, float64(x), 32)
	case []byte:
		if x == nil {
			e.buf = append(e.buf, "null"...)
		} else {
			e.placeholder(x)
		}
	case json.RawMessage:
		e.raw(x)
	case json.Number:
		return e.number(x)
	case []any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			break
		}
		if depth >= maxEncodeDepth {
			return errTooDeep(reflect.ValueOf(v))
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.any(el, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	case map[string]any:
		return e.mapStringAny(x, depth)
	default:
		return e.value(reflect.ValueOf(v), depth)
	}
	return err
}

var numberType = reflect.TypeFor[json.Number]()

// number writes a json.Number as a JSON number, as encoding/json does.
func (e *encoder) number(n json.Number) error {
	if n == "" {
		e.buf = append(e.buf, '0')
		return nil
	}
	if skipNumber([]byte(n), 0) != len(n) {
		return fmt.Errorf("socketio: invalid number literal %q", string(n))
	}
	e.buf = append(e.buf, n...)
	return nil
}

func (e *encoder) raw(r json.RawMessage) {
	if len(r) == 0 {
		e.buf = append(e.buf, "null"...)
	} else {
		e.buf = append(e.buf, r...)
	}
}

func errTooDeep(v reflect.Value) error {
	return &json.UnsupportedValueError{Value: v, Str: "nested deeper than " + strconv.Itoa(maxEncodeDepth) + " levels (a cycle?)"}
}

func (e *encoder) mapStringAny(m map[string]any, depth int) error {
	if m == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if depth >= maxEncodeDepth {
		return errTooDeep(reflect.ValueOf(m))
	}
	var inline [16]string
	keys := inline[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, k, true)
		e.buf = append(e.buf, ':')
		if err := e.any(m[k], depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// value encodes v using reflection.
func (e *encoder) value(v reflect.Value, depth int) error {
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if depth >= maxEncodeDepth {
		return errTooDeep(v)
	}
	t := v.Type()
	if t == rawMessageType {
		e.raw(json.RawMessage(v.Bytes()))
		return nil
	}
	if t == numberType {
		return e.number(json.Number(v.String()))
	}
	ti := typeInfoOf(t)
	switch {
	case ti.opaque:
		return e.marshal(v)
	case ti.addrOpaque && v.CanAddr():
		return e.marshal(v.Addr())
	case ti.bytes:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
		} else {
			e.placeholder(v.Bytes())
		}
		return nil
	}
	if ok, err := e.scalar(v, false); ok {
		return err
	}
	if !ti.binary {
		return e.marshal(v)
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.value(v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		fallthrough
	case reflect.Array:
		e.buf = append(e.buf, '[')
		for i := range v.Len() {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(v.Index(i), depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
		return nil
	case reflect.Map:
		return e.mapValue(v, depth)
	case reflect.Struct:
		return e.structValue(v, ti.fields, depth)
	}
	return e.marshal(v) // not reached: only the kinds above can hold a []byte
}

// marshal appends encoding/json's encoding of v.
func (e *encoder) marshal(v reflect.Value) error {
	if !v.CanInterface() {
		return &json.UnsupportedValueError{Value: v, Str: "value of an unexported field"}
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return err
	}
	e.buf = append(e.buf, b...)
	return nil
}

// scalar appends a bool, number or string of a type that is not a marshaler. With quoted (the
// ",string" tag option) the value is written inside a JSON string. ok is false for other kinds.
func (e *encoder) scalar(v reflect.Value, quoted bool) (ok bool, err error) {
	if quoted {
		e.buf = append(e.buf, '"')
	}
	switch v.Kind() {
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case reflect.Float32:
		e.buf, err = appendFloat(e.buf, v.Float(), 32)
	case reflect.Float64:
		e.buf, err = appendFloat(e.buf, v.Float(), 64)
	case reflect.String:
		if quoted {
			e.buf = e.buf[:len(e.buf)-1]
			e.buf = appendString(e.buf, string(appendString(nil, v.String(), true)), false)
			return true, nil
		}
		e.buf = appendString(e.buf, v.String(), true)
	default:
		if quoted {
			e.buf = e.buf[:len(e.buf)-1]
		}
		return false, nil
	}
	if quoted {
		e.buf = append(e.buf, '"')
	}
	return true, err
}

func (e *encoder) mapValue(v reflect.Value, depth int) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := mapKey(it.Key())
		if err != nil {
			return err
		}
		entries = append(entries, entry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	e.buf = append(e.buf, '{')
	for i, en := range entries {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, en.key, true)
		e.buf = append(e.buf, ':')
		if err := e.value(en.val, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// mapKey returns the JSON object key encoding/json uses for map key k.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if k.Type().Implements(textMarshalerType) {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := k.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "", &json.MarshalerError{Type: k.Type(), Err: err}
		}
		return string(b), nil
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", &json.UnsupportedTypeError{Type: k.Type()}
}

func (e *encoder) structValue(v reflect.Value, fields []field, depth int) error {
	e.buf = append(e.buf, '{')
	first := true
next:
	for i := range fields {
		f := &fields[i]
		fv := v
		for _, x := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue next // a field of a nil embedded struct pointer
				}
				fv = fv.Elem()
			}
			fv = fv.Field(x)
		}
		if f.omitEmpty && isEmptyValue(fv) || f.omitZero && isZeroValue(fv) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, f.key...)
		if err := e.fieldValue(fv, f.quoted, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// fieldValue encodes a struct field, applying the ",string" option to scalars that are not
// marshalers (as encoding/json does, through pointers too).
func (e *encoder) fieldValue(v reflect.Value, quoted bool, depth int) error {
	if quoted && v.Type() == numberType {
		e.buf = append(e.buf, '"')
		if err := e.number(json.Number(v.String())); err != nil {
			return err
		}
		e.buf = append(e.buf, '"')
		return nil
	}
	if quoted {
		ti := typeInfoOf(v.Type())
		if !ti.opaque && !(ti.addrOpaque && v.CanAddr()) {
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					e.buf = append(e.buf, "null"...)
					return nil
				}
				return e.fieldValue(v.Elem(), true, depth+1)
			}
			if ok, err := e.scalar(v, true); ok {
				return err
			}
		}
	}
	return e.value(v, depth)
}

// isEmptyValue is encoding/json's test for the omitempty option.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// isZeroValue is encoding/json's test for the omitzero option: an IsZero method when the type
// has one, else the zero value.
func isZeroValue(v reflect.Value) bool {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		if v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() {
			return true
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return v.IsNil() || v.Interface().(interface{ IsZero() bool }).IsZero()
	case t.Implements(isZeroerType):
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	case reflect.PointerTo(t).Implements(isZeroerType):
		if !v.CanAddr() {
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}
