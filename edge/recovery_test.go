package edge

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestRecovery(t *testing.T) {
	srv := newServer(t, Config{Recovery: true})
	nsp := srv.Of("/")
	a := dial(t, srv)
	a.send("0")
	var reply struct{ SID, PID string }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(a.next(), "0")), &reply); err != nil || reply.PID == "" {
		t.Fatalf("CONNECT reply without pid: %v", err)
	}
	nsp.Socket(reply.SID).Join("r")
	nsp.Socket(reply.SID).SetData("kept")

	// Events carry an offset as their last argument.
	_ = nsp.To("r").Emit("e", 0)
	got := a.next()
	var args []any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(got, "2")), &args); err != nil || len(args) != 3 {
		t.Fatalf("event %q: want name, arg and offset", got)
	}
	offset := args[2].(string)

	a.sess.CloseWithReason("transport close", false)
	a.waitClosed()

	_ = nsp.To("r").Emit("e", 1)       // reaches the room: replayed
	_ = nsp.To("other").Emit("e", 2)   // not for this socket
	_ = nsp.Except("r").Emit("e", 3)   // excluded by room
	_ = nsp.Emit("e", 4)               // whole namespace: replayed
	_ = nsp.Volatile().Emit("e", 5)    // volatile: never logged
	_ = nsp.To(reply.SID).Emit("e", 6) // its own room: replayed

	b := dial(t, srv)
	b.send(`0{"pid":"` + reply.PID + `","offset":"` + offset + `"}`)
	for _, want := range []string{"1", "4", "6"} {
		if got := b.next(); !strings.HasPrefix(got, `2["e",`+want+`,"`) {
			t.Fatalf("replayed %q, want event %s", got, want)
		}
	}
	if got := b.next(); got != `0{"sid":"`+reply.SID+`","pid":"`+reply.PID+`"}` {
		t.Fatalf("CONNECT reply %q, want the same sid and pid", got)
	}
	s := nsp.Socket(reply.SID)
	if s == nil || !s.Recovered() || s.Data() != "kept" || !slices.Contains(s.Rooms(), "r") {
		t.Fatalf("restored socket %+v", s)
	}

	// A pid is good once; an unknown one gets a fresh session.
	c := dial(t, srv)
	c.send(`0{"pid":"` + reply.PID + `","offset":"` + offset + `"}`)
	if got := c.next(); strings.Contains(got, reply.SID) || !strings.HasPrefix(got, `0{"sid":"`) {
		t.Fatalf("second restore with the same pid: %q", got)
	}
}

func TestRecoveryNotAfterNamespaceDisconnect(t *testing.T) {
	srv := newServer(t, Config{Recovery: true})
	a := dial(t, srv)
	a.send("0")
	var reply struct{ SID, PID string }
	_ = json.Unmarshal([]byte(strings.TrimPrefix(a.next(), "0")), &reply)
	_ = srv.Of("/").Emit("e")
	got := a.next()
	offset := got[strings.LastIndex(got, ",")+2 : len(got)-2]
	a.send("1") // the client leaves the namespace: not recoverable
	b := dial(t, srv)
	b.send(`0{"pid":"` + reply.PID + `","offset":"` + offset + `"}`)
	if got := b.next(); strings.Contains(got, reply.SID) {
		t.Fatalf("restored after a namespace disconnect: %q", got)
	}
}
