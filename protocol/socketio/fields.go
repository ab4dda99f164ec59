package socketio

import (
	"cmp"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// This file describes Go types for the argument encoder: which types may hold a []byte (and so
// must be walked here rather than handed to encoding/json) and which struct fields encoding/json
// would write.

var (
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
)

// typeInfo is what the encoder needs to know about a type. It is computed once per type.
type typeInfo struct {
	opaque     bool    // implements json.Marshaler or encoding.TextMarshaler: encoding/json writes it
	addrOpaque bool    // only *T does: encoding/json writes addressable values
	bytes      bool    // a []byte-like slice: a placeholder
	binary     bool    // may hold a []byte somewhere: the encoder walks it itself
	fields     []field // for a binary struct: the fields encoding/json would write, in order
}

var typeInfos sync.Map // reflect.Type → *typeInfo

func typeInfoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{
		opaque: t.Implements(marshalerType) || t.Implements(textMarshalerType),
		bytes:  isByteSlice(t),
		binary: mayHoldBytes(t, map[reflect.Type]bool{}),
	}
	if !ti.opaque && t.Kind() != reflect.Pointer {
		p := reflect.PointerTo(t)
		ti.addrOpaque = p.Implements(marshalerType) || p.Implements(textMarshalerType)
	}
	if ti.binary && t.Kind() == reflect.Struct {
		ti.fields = structFields(t)
	}
	actual, _ := typeInfos.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// isByteSlice reports whether t is a []byte-like slice that encoding/json would write as base64.
func isByteSlice(t reflect.Type) bool {
	if t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.Uint8 || t == rawMessageType {
		return false
	}
	p := reflect.PointerTo(t.Elem())
	return !p.Implements(marshalerType) && !p.Implements(textMarshalerType)
}

// mayHoldBytes reports whether a value of type t may hold a []byte that is not hidden behind a
// marshaler. Interfaces may hold anything. A type met again while being examined (a recursive
// type) counts as yes: walking such a type is always correct, only slower.
func mayHoldBytes(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo).binary
	}
	if t == rawMessageType || t.Implements(marshalerType) || t.Implements(textMarshalerType) {
		return false
	}
	if isByteSlice(t) {
		return true
	}
	if visiting[t] {
		return true
	}
	visiting[t] = true
	defer delete(visiting, t)
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return mayHoldBytes(t.Elem(), visiting)
	case reflect.Struct:
		for _, f := range structFields(t) {
			if mayHoldBytes(f.typ, visiting) {
				return true
			}
		}
	}
	return false
}

// field is a struct field as encoding/json writes it.
type field struct {
	name      string
	key       []byte // `"name":`, escaped as encoding/json escapes it
	index     []int  // path through embedded structs
	typ       reflect.Type
	tagged    bool
	omitEmpty bool
	omitZero  bool
	quoted    bool // the ",string" option on a scalar (or pointer to scalar)
}

// structFields lists the fields of struct type t that encoding/json would write, following its
// rules: exported fields (and the exported fields of embedded structs, exported or not), tag names
// and options, and Go's visibility rules for embedded fields — the shallowest field of a name
// wins, a tagged one beats untagged ones at the same depth, any other tie hides the name.
func structFields(t reflect.Type) []field {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var fields []field
	next := []level{{typ: t}}
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current := next
		next = nil
		// count[T] is the number of times struct T is embedded at the current depth.
		count := map[reflect.Type]int{}
		for _, l := range current {
			count[l.typ]++
		}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := range l.typ.NumField() {
				sf := l.typ.Field(i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous {
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				index := append(slices.Clip(l.index), i)
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					next = append(next, level{typ: ft, index: index})
					continue
				}
				f := field{
					name:      name,
					index:     index,
					typ:       sf.Type,
					tagged:    name != "",
					omitEmpty: hasOption(opts, "omitempty"),
					omitZero:  hasOption(opts, "omitzero"),
				}
				if f.name == "" {
					f.name = sf.Name
				}
				if hasOption(opts, "string") {
					switch ft.Kind() {
					case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
						reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
						f.quoted = true
					}
				}
				f.key = append(appendString(nil, f.name, true), ':')
				fields = append(fields, f)
				if count[l.typ] > 1 {
					// The struct is embedded twice at this depth: its fields collide with themselves.
					fields = append(fields, f)
				}
			}
		}
	}
	// Keep, per name, the dominant field; then restore declaration order.
	slices.SortStableFunc(fields, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		if j-i == 1 || len(fields[i].index) < len(fields[i+1].index) || fields[i].tagged != fields[i+1].tagged {
			out = append(out, fields[i])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return out
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// validTagName reports whether encoding/json accepts name as a field name from a tag.
func validTagName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) {
			continue
		}
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}
