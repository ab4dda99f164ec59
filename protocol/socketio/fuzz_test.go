package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

var decodeSeeds = []string{
	`0`, `0/admin,`, `0/custom,{"token":"abc"}`, `0/random`, `1`, `1/custom`, `1/admin,`,
	`2["message",1,"2",{"3":[true]}]`, `2456["message-with-ack",1]`, `2/admin,12["x",{"z":1}]`,
	`3456[1]`, `3/admin,0[]`, `4{"message":"Invalid namespace"}`, `4"str"`, `41`,
	`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
	`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, `50-["x"]`,
	`abc`, `7`, `2{}`, `2abc["foo"]`, `2["connect"]`, `2["conn\u0065ct"]`, `2[]`, `3{}`, `0[]`, `1[1]`,
	`511-["x"]`, `5x-`, `218446744073709551616["x"]`, `2["x"]]`, `2 [ "a" , -1.5e+3 , "\ud83d\ude00" ] `,
	`2[1,{"a":[[[[{"b":null}]]]]},true,false]`,
}

var sentinels = []error{
	ErrInvalidType, ErrInvalidAttachments, ErrInvalidNamespace, ErrInvalidID, ErrInvalidPayload,
	ErrReservedEvent, ErrUnexpectedBinary, ErrUnexpectedText, ErrPlaceholder, ErrAttachmentsTooLarge,
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b, 0)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Decode(%q): error %v wraps no sentinel", b, err)
			}
			return
		}
		if p.Type > BinaryAck || p.Namespace == "" || p.Namespace[0] != '/' {
			t.Fatalf("Decode(%q) = %+v", b, p)
		}
		if p.Data != nil && !json.Valid(p.Data) {
			t.Fatalf("Decode(%q) accepted invalid JSON %q", b, p.Data)
		}
		enc := AppendPacket(nil, &p)
		q, err := Decode(enc, 0)
		if err != nil {
			t.Fatalf("Decode(%q) ok, re-encoded %q fails: %v", b, enc, err)
		}
		if q.Type != p.Type || q.Namespace != p.Namespace || q.ID != p.ID || q.HasID != p.HasID ||
			!bytes.Equal(q.Data, p.Data) || (q.Data == nil) != (p.Data == nil) || len(q.Attachments) != len(p.Attachments) {
			t.Fatalf("round trip of %q via %q:\n%+v\n%+v", b, enc, p, q)
		}
		switch p.Type {
		case Event, BinaryEvent:
			name, err := EventName(p.Data)
			if err != nil {
				t.Fatalf("EventName(%q): %v", p.Data, err)
			}
			if IsReserved(name) {
				t.Fatalf("Decode(%q) accepted reserved event %q", b, name)
			}
			var v []any
			if err := json.Unmarshal(p.Data, &v); err != nil || len(v) == 0 {
				t.Fatalf("json.Unmarshal(%q): %v", p.Data, err)
			}
			if s, ok := v[0].(string); ok && s != name {
				t.Fatalf("EventName(%q) = %q, encoding/json says %q", p.Data, name, s)
			}
			// SplitEvent's in-place argument array holds exactly the
			// elements after the name.
			elems, args, err := SplitEvent(nil, bytes.Clone(p.Data))
			if err != nil || len(elems) != len(v) {
				t.Fatalf("SplitEvent(%q) = %q, %v", p.Data, elems, err)
			}
			var rest []json.RawMessage
			if err := json.Unmarshal(args, &rest); err != nil || len(rest) != len(v)-1 {
				t.Fatalf("SplitEvent(%q) args %q: %v, %d elements", p.Data, args, err, len(rest))
			}
			for i := range rest {
				if !bytes.Equal(bytes.TrimSpace(rest[i]), elems[i+1]) {
					t.Fatalf("SplitEvent(%q) args[%d] = %q, element %q", p.Data, i, rest[i], elems[i+1])
				}
			}
			fallthrough
		case Ack, BinaryAck:
			if p.Data == nil {
				break
			}
			var v []json.RawMessage
			if err := json.Unmarshal(p.Data, &v); err != nil {
				t.Fatalf("json.Unmarshal(%q): %v", p.Data, err)
			}
			elems, err := SplitArray(nil, p.Data)
			if err != nil || len(elems) != len(v) {
				t.Fatalf("SplitArray(%q) = %q, %v; encoding/json sees %d elements", p.Data, elems, err, len(v))
			}
			for i := range elems {
				if !bytes.Equal(bytes.TrimSpace(elems[i]), bytes.TrimSpace(v[i])) {
					t.Fatalf("SplitArray(%q)[%d] = %q, encoding/json %q", p.Data, i, elems[i], v[i])
				}
			}
		}
	})
}

// FuzzDecoder feeds a sequence of messages through a Decoder and compares it with a model built
// from Decode and CheckPlaceholders. The input is split at 0x1e into messages; a message starting
// with 'b' is binary (the rest of it), any other is text.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte("52-[\"message\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]\x1eb\x01\x02\x03\x1eb\x04\x05\x06\x1e2[\"after\"]"))
	f.Add([]byte("62-789[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]\x1ebA\x1ebB"))
	f.Add([]byte("51-[\"x\",{\"a\":[{\"_placeholder\":true,\"num\":0}]}]\x1e2[\"text while pending\"]\x1eb\x00"))
	f.Add([]byte("bunexpected\x1e2[\"x\"]\x1e50-[\"zero\"]\x1e51-[\"x\",{\"_placeholder\":true,\"num\":3}]\x1eb"))
	f.Add([]byte("52-/admin,4[\"x\",{\"_placeholder\":true,\"num\":0}]\x1ebxx\x1ebyyyyyyy\x1e3/admin,4[]"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := Decoder{MaxAttachmentBytes: 8}
		var pending *Packet // the model's partial packet
		var got int
		var size int64
		for _, msg := range bytes.Split(in, []byte{0x1e}) {
			if len(msg) > 0 && msg[0] == 'b' {
				a := msg[1:]
				p, ok, err := d.Binary(a)
				switch {
				case pending == nil:
					if !errors.Is(err, ErrUnexpectedBinary) || ok {
						t.Fatalf("binary with nothing pending: ok=%v err=%v", ok, err)
					}
				case size+int64(len(a)) > 8:
					if !errors.Is(err, ErrAttachmentsTooLarge) {
						t.Fatalf("over the byte limit: err=%v", err)
					}
					pending = nil
				case got+1 < len(pending.Attachments):
					if err != nil || ok {
						t.Fatalf("attachment %d of %d: ok=%v err=%v", got+1, len(pending.Attachments), ok, err)
					}
					pending.Attachments[got] = a
					got++
					size += int64(len(a))
				default:
					pending.Attachments[got] = a
					want := checkData(pending.Data, len(pending.Attachments))
					if (err == nil) != (want == nil) || err != nil && !errors.Is(err, ErrPlaceholder) {
						t.Fatalf("last attachment: err=%v, model %v", err, want)
					}
					if err == nil {
						if !ok {
							t.Fatal("complete packet not reported")
						}
						assertPacket(t, p, *pending)
						if p.Data != nil {
							if _, err := ResolvePlaceholders(p.Data, p.Attachments); err != nil {
								t.Fatalf("ResolvePlaceholders: %v", err)
							}
						}
					}
					pending = nil
				}
			} else {
				p, ok, err := d.Text(msg)
				if pending != nil {
					if !errors.Is(err, ErrUnexpectedText) {
						t.Fatalf("text while pending: err=%v", err)
					}
					pending = nil
					continue
				}
				want, werr := Decode(msg, 0)
				if werr == nil && want.Type.binary() && len(want.Attachments) == 0 {
					werr = checkData(want.Data, 0)
				}
				if (err == nil) != (werr == nil) {
					t.Fatalf("Text(%q) err=%v, model %v", msg, err, werr)
				}
				if err != nil {
					continue
				}
				if len(want.Attachments) > 0 {
					if ok || !d.Pending() {
						t.Fatalf("header %q: ok=%v pending=%v", msg, ok, d.Pending())
					}
					pending, got, size = &want, 0, 0
					continue
				}
				if !ok {
					t.Fatalf("Text(%q) not complete", msg)
				}
				assertPacket(t, p, want)
			}
			if d.Pending() != (pending != nil) {
				t.Fatalf("Pending() = %v, model %v", d.Pending(), pending != nil)
			}
		}
	})
}

// FuzzJSON checks the scanner against encoding/json: validity, string unescaping, and string
// escaping.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, ` "x\u00e9\ud83d\ude00" `, `-0.5e+10`, `[1,]`, `{"a" 1}`, "\"\xff\"", `"\ud800\u0041"`, `tru`, `[[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
		if e := skipValue(b, 0); validJSON(b) {
			// skipFast agrees with skipValue on valid documents.
			i := skipSpace(b, 0)
			if f := skipFast(b, i); f != e {
				t.Fatalf("skipFast(%q) = %d, skipValue %d", b, f, e)
			}
		}
		if len(b) >= 2 && b[0] == '"' && skipString(b, 0) == len(b) {
			var s string
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatalf("json.Unmarshal(%q): %v", b, err)
			}
			if got := appendUnquoted(nil, b[1:len(b)-1]); string(got) != s {
				t.Fatalf("appendUnquoted(%q) = %q, encoding/json %q", b, got, s)
			}
		}
		want, _ := json.Marshal(string(b))
		if got := appendString(nil, string(b), true); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json %s", b, got, want)
		}
		if utf8.Valid(b) {
			if got := rawStringIs(b, string(b)); bytes.IndexByte(b, '\\') < 0 && !got {
				t.Fatalf("rawStringIs(%q, itself) = false", b)
			}
		}
	})
}
