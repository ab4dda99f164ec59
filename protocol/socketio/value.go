package socketio

import (
	"bytes"
	"encoding/json"
)

// DecodeValue decodes one raw JSON value into a generic value
// (map[string]any, []any, string, json.Number, bool or nil) in which every
// placeholder is replaced by its attachment as []byte, wherever it is
// nested. Objects lose their key order; keep the raw JSON where it matters.
func DecodeValue(raw []byte, attachments [][]byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if len(attachments) == 0 {
		return v, nil
	}
	return withBinary(v, attachments), nil
}

func withBinary(v any, atts [][]byte) any {
	switch t := v.(type) {
	case map[string]any:
		if ph, _ := t["_placeholder"].(bool); ph && len(t) == 2 {
			if num, ok := t["num"].(json.Number); ok {
				if n, err := num.Int64(); err == nil && n >= 0 && n < int64(len(atts)) {
					return atts[n]
				}
			}
		}
		for k, e := range t {
			t[k] = withBinary(e, atts)
		}
	case []any:
		for k, e := range t {
			t[k] = withBinary(e, atts)
		}
	}
	return v
}
