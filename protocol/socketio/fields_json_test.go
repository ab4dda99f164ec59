package socketio

import (
	"encoding/json"
	"testing"
)

func TestEachField(t *testing.T) {
	var got []string
	err := EachField([]byte(` {"a" : 1, "b\"c":{"x":[1,2]},"d":"e\u00e9"} `), func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	})
	if err != nil || len(got) != 3 || got[0] != "a=1" || got[1] != `b\"c={"x":[1,2]}` || got[2] != `d="e\u00e9"` {
		t.Fatalf("%v %q", err, got)
	}
	for _, bad := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1} x`, `{a:1}`} {
		if err := EachField([]byte(bad), func(k, v []byte) error { return nil }); err == nil {
			t.Errorf("EachField(%q) succeeded", bad)
		}
	}
	if err := EachField([]byte(`{}`), func(k, v []byte) error { t.Fatal("called"); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestStringHelpers(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"uote\\", "tab\tnl\n", "é✓", "\u2028<>&", "\x01"} {
		enc := AppendString(nil, s)
		var want string
		if err := json.Unmarshal(enc, &want); err != nil || want != s {
			t.Fatalf("AppendString(%q) = %s (%v)", s, enc, err)
		}
		back, err := UnquoteString(enc)
		if err != nil || back != s {
			t.Fatalf("UnquoteString(%s) = %q, %v", enc, back, err)
		}
	}
	if _, err := UnquoteString([]byte(`"open`)); err == nil {
		t.Fatal("unterminated string accepted")
	}
}

func FuzzEachField(f *testing.F) {
	f.Add([]byte(`{"sid":"a","args":[1,{"b":2}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := EachField(data, func(k, v []byte) error {
			if !json.Valid(v) {
				t.Fatalf("invalid value %q", v)
			}
			return nil
		})
		var m map[string]json.RawMessage
		jerr := json.Unmarshal(data, &m)
		if err == nil && jerr != nil {
			t.Fatalf("EachField accepted %q, encoding/json says %v", data, jerr)
		}
	})
}
