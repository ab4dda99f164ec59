package edge

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/presence"
	presencemem "github.com/switchboard-rt/switchboard/presence/memory"
)

func TestPresenceFollowsSockets(t *testing.T) {
	pc := presencemem.NewCluster()
	var mu sync.Mutex
	var events []presence.Event
	newTracked := func(node string) *Server {
		tr, err := pc.Start(presence.Config{NodeID: node, OnEvent: func(ev presence.Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close(context.Background()) })
		return newServer(t, Config{Presence: tr, NodeID: node})
	}
	a, b := newTracked("A"), newTracked("B")
	a.Of("/").Use(func(s *Socket) error { s.SetUser("u1"); return nil })
	b.Of("/").OnConnection(func(s *Socket) { s.SetUser("u1"); s.SetData(map[string]int{"tab": 2}) })

	ca := dial(t, a)
	sa := ca.connect("/")
	cb := dial(t, b)
	sb := cb.connect("/")
	a.Of("/").Socket(sa).Join("general")
	b.Of("/").Socket(sb).Join("general", "other")

	counts := func(room string) presence.Counts {
		t.Helper()
		c, err := a.Presence().Counts(t.Context(), "/", room)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	testutil.CheckFor(t, 2*time.Second, 5*time.Millisecond, func() error {
		if c := counts("general"); c.Members != 2 || c.Users != 1 {
			return fmt.Errorf("general: %+v", c)
		}
		if c := counts(""); c.Members != 2 || c.Users != 1 {
			return fmt.Errorf("namespace: %+v", c)
		}
		return nil
	})
	page, err := b.Presence().Query(t.Context(), presence.Query{NS: "/", Room: "other"})
	if err != nil || len(page.Members) != 1 || page.Members[0].SID != sb || page.Members[0].Node != "B" ||
		string(page.Members[0].Data) != `{"tab":2}` || page.Members[0].User != "u1" {
		t.Fatalf("other: %+v, %v", page, err)
	}

	b.Of("/").Socket(sb).Leave("other")
	ca.send("1") // client A leaves the namespace
	testutil.CheckFor(t, 2*time.Second, 5*time.Millisecond, func() error {
		if c := counts("general"); c.Members != 1 {
			return fmt.Errorf("general after A left: %+v", c)
		}
		if c := counts("other"); c.Members != 0 {
			return fmt.Errorf("other after leave: %+v", c)
		}
		return nil
	})
	// Events are handed over by the trackers' goroutines: wait for them.
	testutil.CheckFor(t, 2*time.Second, 5*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		var joins, leaves, online int
		for _, ev := range events {
			switch ev.Action {
			case presence.ActionJoin:
				joins++
			case presence.ActionLeave:
				leaves++
			case presence.ActionOnline:
				online++
			}
		}
		if joins != 3 || leaves != 2 || online != 1 {
			return fmt.Errorf("events: %d joins, %d leaves, %d online; want 3, 2, 1: %+v", joins, leaves, online, events)
		}
		return nil
	})
}
