package socketio

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		``, ` `, `null`, `true`, `false`, `nul`, `truex`, `0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5e`, `1E+2`, `1e-2`,
		`-12.5E10`, `+1`, `"x"`, `"x`, `"\u00e9"`, `"\u00g9"`, `"\q"`, `"\/"`, "\"\x7f\"", "\"\x1f\"", "\"\xff\xfe\"",
		`[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[[]`, `[]]`, `{}`, `{ }`, `{"a":1}`, `{"a":}`, `{"a" 1}`, `{a:1}`,
		`{"a":1,}`, `{"a":1 "b":2}`, `{"a":{"b":[1,{"c":null}]}}`, ` {"a" : [ 1 , 2 ] } `, `{"a":1}x`, `[1][2]`,
		"[\n\t\r 1\n]", "[\v1]", `{"a":[1}`, `[{"a":1]}`, `"a\"b"`, `"a\\"b"`, `"\\\\"`,
	}
	for _, d := range docs {
		if got, want := validJSON([]byte(d)), json.Valid([]byte(d)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid %v", d, got, want)
		}
	}
}

// TestSkipStringEveryPosition checks the eight-bytes-at-a-time string scan: every special byte is
// found at every offset within and across words.
func TestSkipStringEveryPosition(t *testing.T) {
	specials := []byte{'"', '\\'}
	for c := range 0x20 {
		specials = append(specials, byte(c))
	}
	for n := range 24 {
		plain := `"` + strings.Repeat("é", n/2) + strings.Repeat("a", n%2) // multi-byte and ASCII filler
		if end := skipString([]byte(plain+`"tail`), 0); end != len(plain)+1 {
			t.Fatalf("skipString(%q) = %d, want %d", plain+`"tail`, end, len(plain)+1)
		}
		if end := skipStringFast([]byte(plain+`"tail`), 0); end != len(plain)+1 {
			t.Fatalf("skipStringFast(%q) = %d, want %d", plain+`"tail`, end, len(plain)+1)
		}
		for _, c := range specials {
			doc := []byte(plain + string([]byte{c}) + strings.Repeat("x", 10) + `"`)
			got := skipString(doc, 0)
			want := -1 // a control character or a bad escape ends the scan with an error
			switch c {
			case '"':
				want = len(plain) + 1
			case '\\': // `\x` is not a valid escape
			}
			if got != want {
				t.Errorf("skipString(%q) = %d, want %d", doc, got, want)
			}
		}
	}
}
