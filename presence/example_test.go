package presence_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/switchboard-rt/switchboard/presence"
	"github.com/switchboard-rt/switchboard/presence/memory"
)

// The edge calls a Tracker from its socket paths (the calls never block);
// services read the cluster's presence and receive its events.
func Example() {
	events := make(chan presence.Event, 16)
	tr, err := memory.New(presence.Config{
		NodeID:  "node-1",
		OnEvent: func(ev presence.Event) { events <- ev }, // must not block
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	defer tr.Close(ctx)

	// A socket connects to /chat (user from the auth reply) and joins a room.
	_ = tr.Connect("/chat", presence.Member{SID: "sid-1", User: "alice", Data: json.RawMessage(`{"name":"Alice"}`)})
	_ = tr.Join("/chat", "sid-1", "lobby")
	_ = tr.Connect("/chat", presence.Member{SID: "sid-2", User: "alice"})
	_ = tr.Join("/chat", "sid-2", "lobby")
	_ = tr.Sync(ctx) // only tests and shutdown paths need to wait

	counts, _ := tr.Counts(ctx, "/chat", "lobby")
	fmt.Printf("lobby: %d sockets, %d users\n", counts.Members, counts.Users)

	page, _ := tr.Query(ctx, presence.Query{NS: "/chat", Room: "lobby", Limit: 1})
	reply, _ := json.Marshal(page)
	fmt.Println(string(reply))

	for range 3 {
		ev := <-events
		body, _ := json.Marshal(ev)
		fmt.Printf("%s %s: %s\n", ev.NS, ev.Room, body)
	}
	// Output:
	// lobby: 2 sockets, 1 users
	// {"count":2,"users":1,"members":[{"sid":"sid-1","node":"node-1","data":{"name":"Alice"},"user":"alice"}],"next":"bTE6c2lkLTE"}
	// /chat : {"action":"online","node":"node-1","user":"alice"}
	// /chat lobby: {"action":"join","sid":"sid-1","node":"node-1","data":{"name":"Alice"},"user":"alice"}
	// /chat lobby: {"action":"join","sid":"sid-2","node":"node-1","user":"alice"}
}

// Paging through a big room: pass Page.Next back as Query.Cursor.
func ExampleReader_Query() {
	tr, _ := memory.New(presence.Config{NodeID: "node-1"})
	ctx := context.Background()
	defer tr.Close(ctx)
	for i := range 5 {
		sid := fmt.Sprintf("sid-%d", i)
		_ = tr.Connect("/", presence.Member{SID: sid})
		_ = tr.Join("/", sid, "big")
	}

	q := presence.Query{NS: "/", Room: "big", Limit: 2}
	for {
		page, err := tr.Query(ctx, q)
		if err != nil {
			panic(err)
		}
		for _, m := range page.Members {
			fmt.Print(m.SID, " ")
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	fmt.Println()
	// Output: sid-0 sid-1 sid-2 sid-3 sid-4
}
