package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestTypeString(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
	for i, w := range want {
		if got := Type(i).String(); got != w {
			t.Errorf("Type(%d).String() = %q, want %q", i, got, w)
		}
	}
	if got := Type(9).String(); got != "Type(9)" {
		t.Errorf("Type(9).String() = %q", got)
	}
}

func TestIsReserved(t *testing.T) {
	for _, n := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if !IsReserved(n) {
			t.Errorf("IsReserved(%q) = false", n)
		}
	}
	for _, n := range []string{"", "message", "Connect", "connection", "new_namespace", "disconnect ", "connect_errors"} {
		if IsReserved(n) {
			t.Errorf("IsReserved(%q) = true", n)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		in   string
		want Packet
		natt int // announced attachments (len(Attachments))
	}{
		{in: `0`, want: Packet{Type: Connect, Namespace: "/"}},
		{in: `0{"token":"123"}`, want: Packet{Type: Connect, Namespace: "/", Data: []byte(`{"token":"123"}`)}},
		{in: `0/admin,`, want: Packet{Type: Connect, Namespace: "/admin"}},
		{in: `0/custom,{"token":"abc"}`, want: Packet{Type: Connect, Namespace: "/custom", Data: []byte(`{"token":"abc"}`)}},
		{in: `0/random`, want: Packet{Type: Connect, Namespace: "/random"}},
		{in: `0/`, want: Packet{Type: Connect, Namespace: "/"}},
		{in: `0/,{}`, want: Packet{Type: Connect, Namespace: "/", Data: []byte(`{}`)}},
		{in: `1`, want: Packet{Type: Disconnect, Namespace: "/"}},
		{in: `1/custom`, want: Packet{Type: Disconnect, Namespace: "/custom"}},
		{in: `1/admin,`, want: Packet{Type: Disconnect, Namespace: "/admin"}},
		{in: `2["message",1,"2",{"3":[true]}]`, want: Packet{Type: Event, Namespace: "/", Data: []byte(`["message",1,"2",{"3":[true]}]`)}},
		{in: `2456["message-with-ack",1]`, want: Packet{Type: Event, Namespace: "/", ID: 456, HasID: true, Data: []byte(`["message-with-ack",1]`)}},
		{in: `2/admin,12["x"]`, want: Packet{Type: Event, Namespace: "/admin", ID: 12, HasID: true, Data: []byte(`["x"]`)}},
		{in: `20["x"]`, want: Packet{Type: Event, Namespace: "/", ID: 0, HasID: true, Data: []byte(`["x"]`)}},
		{in: `218446744073709551615["x"]`, want: Packet{Type: Event, Namespace: "/", ID: 18446744073709551615, HasID: true, Data: []byte(`["x"]`)}},
		{in: `2[42]`, want: Packet{Type: Event, Namespace: "/", Data: []byte(`[42]`)}},
		{in: `2[-1.5e3,"a"]`, want: Packet{Type: Event, Namespace: "/", Data: []byte(`[-1.5e3,"a"]`)}},
		{in: `2 [ "spaced" ] `, want: Packet{Type: Event, Namespace: "/", Data: []byte(` [ "spaced" ] `)}},
		{in: `2["connection"]`, want: Packet{Type: Event, Namespace: "/", Data: []byte(`["connection"]`)}},
		{in: `2["Connect"]`, want: Packet{Type: Event, Namespace: "/", Data: []byte(`["Connect"]`)}},
		{in: `2["connect\u0021"]`, want: Packet{Type: Event, Namespace: "/", Data: []byte(`["connect\u0021"]`)}},
		{in: `3456[1]`, want: Packet{Type: Ack, Namespace: "/", ID: 456, HasID: true, Data: []byte(`[1]`)}},
		{in: `3/admin,1[]`, want: Packet{Type: Ack, Namespace: "/admin", ID: 1, HasID: true, Data: []byte(`[]`)}},
		{in: `31`, want: Packet{Type: Ack, Namespace: "/", ID: 1, HasID: true}},
		{in: `3["connect"]`, want: Packet{Type: Ack, Namespace: "/", Data: []byte(`["connect"]`)}},
		{in: `4{"message":"Invalid namespace"}`, want: Packet{Type: ConnectError, Namespace: "/", Data: []byte(`{"message":"Invalid namespace"}`)}},
		{in: `4/random,{"message":"Invalid namespace"}`, want: Packet{Type: ConnectError, Namespace: "/random", Data: []byte(`{"message":"Invalid namespace"}`)}},
		{in: `41`, want: Packet{Type: ConnectError, Namespace: "/", ID: 1, HasID: true}},
		{in: `4"str"`, want: Packet{Type: ConnectError, Namespace: "/", Data: []byte(`"str"`)}},
		{in: `52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, natt: 2,
			want: Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}},
		{in: `51-/admin,7["up",{"_placeholder":true,"num":0}]`, natt: 1,
			want: Packet{Type: BinaryEvent, Namespace: "/admin", ID: 7, HasID: true, Data: []byte(`["up",{"_placeholder":true,"num":0}]`)}},
		{in: `50-["no binary"]`, want: Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["no binary"]`)}},
		{in: `510-["ten"]`, natt: 10, want: Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["ten"]`)}},
		{in: `62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, natt: 2,
			want: Packet{Type: BinaryAck, Namespace: "/", ID: 789, HasID: true, Data: []byte(`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}},
		{in: `61-3`, natt: 1, want: Packet{Type: BinaryAck, Namespace: "/", ID: 3, HasID: true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Decode([]byte(tt.in), 0)
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.in, err)
			}
			if len(got.Attachments) != tt.natt {
				t.Errorf("len(Attachments) = %d, want %d", len(got.Attachments), tt.natt)
			}
			for i, a := range got.Attachments {
				if a != nil {
					t.Errorf("Attachments[%d] = %q, want nil before reassembly", i, a)
				}
			}
			got.Attachments = nil
			assertPacket(t, got, tt.want)
		})
	}
}

func assertPacket(t testing.TB, got, want Packet) {
	t.Helper()
	if got.Type != want.Type || got.Namespace != want.Namespace || got.ID != want.ID || got.HasID != want.HasID {
		t.Errorf("got {%v %q id=%d has=%v}, want {%v %q id=%d has=%v}",
			got.Type, got.Namespace, got.ID, got.HasID, want.Type, want.Namespace, want.ID, want.HasID)
	}
	if (got.Data == nil) != (want.Data == nil) || !bytes.Equal(got.Data, want.Data) {
		t.Errorf("Data = %q (nil %v), want %q (nil %v)", got.Data, got.Data == nil, want.Data, want.Data == nil)
	}
	if len(got.Attachments) != len(want.Attachments) {
		t.Fatalf("%d attachments, want %d", len(got.Attachments), len(want.Attachments))
	}
	for i := range got.Attachments {
		if !bytes.Equal(got.Attachments[i], want.Attachments[i]) {
			t.Errorf("Attachments[%d] = %q, want %q", i, got.Attachments[i], want.Attachments[i])
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want error
	}{
		{``, 0, ErrInvalidType},
		{`abc`, 0, ErrInvalidType},
		{`7`, 0, ErrInvalidType},
		{`9["x"]`, 0, ErrInvalidType},
		{`/2["x"]`, 0, ErrInvalidType},
		{`2{}`, 0, ErrInvalidPayload},
		{`2abc["foo"]`, 0, ErrInvalidPayload},
		{`2["connect"]`, 0, ErrReservedEvent},
		{`2["connect_error"]`, 0, ErrReservedEvent},
		{`2["disconnect",1]`, 0, ErrReservedEvent},
		{`2["disconnecting"]`, 0, ErrReservedEvent},
		{`2["newListener"]`, 0, ErrReservedEvent},
		{`2/admin,3["removeListener"]`, 0, ErrReservedEvent},
		{`2["conn\u0065ct"]`, 0, ErrReservedEvent},
		{`2[ "\u0064isconnect" ]`, 0, ErrReservedEvent},
		{`52-["connect",{"_placeholder":true,"num":0}]`, 0, ErrReservedEvent},
		{`2[]`, 0, ErrInvalidPayload},
		{`2`, 0, ErrInvalidPayload},
		{`2/admin,`, 0, ErrInvalidPayload},
		{`5-`, 0, ErrInvalidAttachments},
		{`2[{}]`, 0, ErrInvalidPayload},
		{`2[null]`, 0, ErrInvalidPayload},
		{`2[true]`, 0, ErrInvalidPayload},
		{`2[["x"]]`, 0, ErrInvalidPayload},
		{`2"x"`, 0, ErrInvalidPayload},
		{`3{}`, 0, ErrInvalidPayload},
		{`3"x"`, 0, ErrInvalidPayload},
		{`0[]`, 0, ErrInvalidPayload},
		{`0"x"`, 0, ErrInvalidPayload},
		{`0null`, 0, ErrInvalidPayload},
		{`1[1]`, 0, ErrInvalidPayload},
		{`1{}`, 0, ErrInvalidPayload},
		{`1/admin,{}`, 0, ErrInvalidPayload},
		{`1 `, 0, ErrInvalidPayload},
		{`4[]`, 0, ErrInvalidPayload},
		{`511-["x"]`, 0, ErrInvalidAttachments},
		{`53-["x"]`, 2, ErrInvalidAttachments},
		{`599999999999999999999999-["x"]`, 0, ErrInvalidAttachments},
		{`5x-["x"]`, 0, ErrInvalidAttachments},
		{`5x-`, 0, ErrInvalidAttachments},
		{`5`, 0, ErrInvalidAttachments},
		{`52`, 0, ErrInvalidAttachments},
		{`5["x"]`, 0, ErrInvalidAttachments},
		{`6-1-[]`, 0, ErrInvalidAttachments},
		{`218446744073709551616["x"]`, 0, ErrInvalidID},
		{`299999999999999999999["x"]`, 0, ErrInvalidID},
		{`3/admin,1844674407370955161500[]`, 0, ErrInvalidID},
		{`2["x"`, 0, ErrInvalidPayload},
		{`2["x"]]`, 0, ErrInvalidPayload},
		{`2["x"]garbage`, 0, ErrInvalidPayload},
		{`2["x"] ["y"]`, 0, ErrInvalidPayload},
		{`2["x",]`, 0, ErrInvalidPayload},
		{`2["x" 1]`, 0, ErrInvalidPayload},
		{`2['x']`, 0, ErrInvalidPayload},
		{"2[\"x\ty\"]", 0, ErrInvalidPayload},
		{`2["\x"]`, 0, ErrInvalidPayload},
		{`2["\u12"]`, 0, ErrInvalidPayload},
		{`2[01]`, 0, ErrInvalidPayload},
		{`2[1.]`, 0, ErrInvalidPayload},
		{`2[-]`, 0, ErrInvalidPayload},
		{`2[1e]`, 0, ErrInvalidPayload},
		{`2["x",tru]`, 0, ErrInvalidPayload},
		{`2["x",{"a"}]`, 0, ErrInvalidPayload},
		{`2["x",{"a":1,}]`, 0, ErrInvalidPayload},
		{`2["x",{1:1}]`, 0, ErrInvalidPayload},
		{`0{"a":1}}`, 0, ErrInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Decode([]byte(tt.in), tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%q) error = %v, want %v", tt.in, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "socketio: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if p.Type != 0 || p.Namespace != "" || p.Data != nil || p.Attachments != nil {
				t.Errorf("Decode returned a non-zero packet with an error: %+v", p)
			}
		})
	}
}

func TestDecodeMaxAttachments(t *testing.T) {
	if _, err := Decode([]byte(`520-["x"]`), 20); err != nil {
		t.Errorf("20 attachments with max 20: %v", err)
	}
	if _, err := Decode([]byte(`521-["x"]`), 20); !errors.Is(err, ErrInvalidAttachments) {
		t.Errorf("21 attachments with max 20: %v", err)
	}
	if _, err := Decode([]byte(`511-["x"]`), -1); !errors.Is(err, ErrInvalidAttachments) {
		t.Errorf("11 attachments with max -1 (default 10): %v", err)
	}
	p, err := Decode([]byte(`6003-[]`), 0)
	if err != nil || len(p.Attachments) != 3 {
		t.Errorf("leading zeros in count: %v, %d attachments", err, len(p.Attachments))
	}
}

func TestDecodeDeepNesting(t *testing.T) {
	ok := `2["x",` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `]`
	if _, err := Decode([]byte(ok), 0); err != nil {
		t.Errorf("nesting %d: %v", maxDepth, err)
	}
	tooDeep := `2["x",` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `]`
	if _, err := Decode([]byte(tooDeep), 0); !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("nesting %d: %v, want ErrInvalidPayload", maxDepth+1, err)
	}
	objs := `2["x",` + strings.Repeat(`{"a":[`, 300) + `1` + strings.Repeat(`]}`, 300) + `]`
	if _, err := Decode([]byte(objs), 0); err != nil {
		t.Errorf("600 levels of objects and arrays: %v", err)
	}
	unbalanced := `2["x",` + strings.Repeat(`{"a":[`, 300) + `1` + strings.Repeat(`}]`, 300) + `]`
	if _, err := Decode([]byte(unbalanced), 0); !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("mismatched brackets at depth: %v", err)
	}
}

func TestDecodeAliasesInput(t *testing.T) {
	in := []byte(`2["a",1]`)
	p, err := Decode(in, 0)
	if err != nil {
		t.Fatal(err)
	}
	if &p.Data[0] != &in[1] {
		t.Error("Data does not alias the input")
	}
	if cap(p.Data) != len(p.Data) {
		t.Errorf("cap(Data) = %d, want clipped to %d", cap(p.Data), len(p.Data))
	}
}

func TestEventName(t *testing.T) {
	tests := []struct{ data, want string }{
		{`["message",1]`, "message"},
		{` [ "spaced" ,1] `, "spaced"},
		{`["a\"b\\c\/d\n"]`, "a\"b\\c/d\n"},
		{`["\u00e9t\u00E9"]`, "été"},
		{`["\ud83d\ude00"]`, "😀"},
		{`["\ud83d"]`, "\ufffd"},
		{`["\ude00x"]`, "\ufffdx"},
		{`["\ud83d\u0041"]`, "\ufffdA"},
		{"[\"caf\xe9\"]", "caf\ufffd"},
		{`[42,"x"]`, "42"},
		{`[-1.5e3]`, "-1.5e3"},
		{`[""]`, ""},
	}
	for _, tt := range tests {
		got, err := EventName([]byte(tt.data))
		if err != nil || got != tt.want {
			t.Errorf("EventName(%s) = %q, %v; want %q", tt.data, got, err, tt.want)
		}
		b, err := AppendEventName([]byte("prefix:"), []byte(tt.data))
		if err != nil || string(b) != "prefix:"+tt.want {
			t.Errorf("AppendEventName(%s) = %q, %v", tt.data, b, err)
		}
	}
	for _, bad := range []string{``, `{}`, `[]`, `[{}]`, `[null]`, `["x`, `[-]`, `"x"`} {
		if _, err := EventName([]byte(bad)); !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("EventName(%s) error = %v, want ErrInvalidPayload", bad, err)
		}
	}
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		data string
		want []string
	}{
		{`[]`, nil},
		{` [ ] `, nil},
		{`[1]`, []string{`1`}},
		{`["message",1,"2",{"3":[true]}]`, []string{`"message"`, `1`, `"2"`, `{"3":[true]}`}},
		{` [ "a" , { "k" : [ 1 , 2 ] } , null,true ,false, -1.5e+3 ] `, []string{`"a"`, `{ "k" : [ 1 , 2 ] }`, `null`, `true`, `false`, `-1.5e+3`}},
		{`["],[\"{",[[]],{"}":"]"}]`, []string{`"],[\"{"`, `[[]]`, `{"}":"]"}`}},
		{`["\\",1]`, []string{`"\\"`, `1`}},
	}
	for _, tt := range tests {
		got, err := SplitArray(nil, []byte(tt.data))
		if err != nil {
			t.Errorf("SplitArray(%s): %v", tt.data, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("SplitArray(%s) = %q, want %q", tt.data, got, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("SplitArray(%s)[%d] = %s, want %s", tt.data, i, got[i], tt.want[i])
			}
			if cap(got[i]) != len(got[i]) {
				t.Errorf("element %d capacity not clipped", i)
			}
		}
	}
	// Appends to dst.
	dst := [][]byte{[]byte("keep")}
	dst, err := SplitArray(dst, []byte(`[1,2]`))
	if err != nil || len(dst) != 3 || string(dst[0]) != "keep" || string(dst[2]) != "2" {
		t.Errorf("SplitArray with dst = %q, %v", dst, err)
	}
	for _, bad := range []string{``, `{}`, `"x"`, `[`, `[1`, `[1,`, `[1 2]`, `[1]x`, `["x]`, `[{]`, `[,]`} {
		if _, err := SplitArray(nil, []byte(bad)); !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("SplitArray(%s) error = %v, want ErrInvalidPayload", bad, err)
		}
	}
}

func TestDecodeHugeAttachmentLimit(t *testing.T) {
	// With a limit near the int range the count must not overflow into a negative slice length.
	_, err := Decode([]byte(`599999999999999999999999-["x"]`), int(^uint(0)>>1))
	if !errors.Is(err, ErrInvalidAttachments) {
		t.Errorf("error = %v, want ErrInvalidAttachments", err)
	}
}

func TestDecodeSmallAttachmentLimit(t *testing.T) {
	for max := 1; max <= 12; max++ {
		for n := 0; n <= 12; n++ {
			_, err := Decode(fmt.Appendf(nil, `5%d-["x"]`, n), max)
			if (err == nil) != (n <= max) {
				t.Errorf("%d attachments, max %d: %v", n, max, err)
			}
		}
	}
}

func TestSplitEvent(t *testing.T) {
	tests := []struct {
		data, args string
		n          int // elements, the name included
	}{
		{`["e"]`, `[]`, 1},
		{` [ "e" ] `, `[]`, 1},
		{`["e",1]`, `[1]`, 2},
		{`["e",{"a":[1,2]},"x"]`, `[{"a":[1,2]},"x"]`, 3},
		{`[ "e" , 1 ,  "]" ]  `, `[1 ,  "]" ]`, 3},
		{`["e",` + "\n\t" + `[]]`, `[[]]`, 2},
		{`[7,null]`, `[null]`, 2},
	}
	for _, tt := range tests {
		data := []byte(tt.data)
		elems, args, err := SplitEvent(nil, data)
		if err != nil {
			t.Errorf("SplitEvent(%s): %v", tt.data, err)
			continue
		}
		if string(args) != tt.args || len(elems) != tt.n {
			t.Errorf("SplitEvent(%s) = %d elements, args %s; want %d, %s", tt.data, len(elems), args, tt.n, tt.args)
		}
		if !json.Valid(args) {
			t.Errorf("SplitEvent(%s): args %q not valid JSON", tt.data, args)
		}
		// The arguments after the name are exactly the elements of args.
		again, err := SplitArray(nil, args)
		if err != nil || len(again) != len(elems)-1 {
			t.Errorf("SplitArray(args %s) = %q, %v", args, again, err)
			continue
		}
		for i := range again {
			if !bytes.Equal(again[i], elems[i+1]) {
				t.Errorf("SplitEvent(%s): argument %d = %s, element %s", tt.data, i, again[i], elems[i+1])
			}
		}
	}
	for _, bad := range []string{``, `{}`, `["e",`, `["e" 1]`, `["e"]x`} {
		if _, args, err := SplitEvent(nil, []byte(bad)); !errors.Is(err, ErrInvalidPayload) || args != nil {
			t.Errorf("SplitEvent(%s) = %q, %v; want ErrInvalidPayload", bad, args, err)
		}
	}
}
