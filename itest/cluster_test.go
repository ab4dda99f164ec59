package itest

import (
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/sioclient"
)

var clusterAdapters = []string{"redis", "nats"}

// TestClusterFanOut: a room with members on every node receives each
// broadcast exactly once per member, in order per publisher; sockets out of
// the room get nothing.
func TestClusterFanOut(t *testing.T) {
	for _, adapter := range clusterAdapters {
		t.Run(adapter, func(t *testing.T) {
			e := newEnv(t, adapter, 3)
			members := roomMembers(t, e, "r")
			outsider, _ := e.client(1, "/chat")
			pub, _ := e.client(0, "/chat")
			const n = 30
			for i := range n {
				if err := pub.Emit("/chat", "broadcast", "r", i); err != nil {
					t.Fatal(err)
				}
			}
			expectSequence(t, members, "msg", n)
			none(t, outsider, "msg", 100*time.Millisecond)
		})
	}
}

// roomMembers connects two clients of /chat on each of the env's three
// edges and puts them in room.
func roomMembers(t *testing.T, e *env, room string) []*sioclient.Client {
	t.Helper()
	var members []*sioclient.Client
	for i := range 3 {
		for range 2 {
			c, _ := e.client(i, "/chat")
			join(t, c, "/chat", room)
			members = append(members, c)
		}
	}
	return members
}

// expectSequence checks that every member receives event with the
// arguments 0 … n-1, in that order, and then nothing more of it.
func expectSequence(t *testing.T, members []*sioclient.Client, event string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for k, c := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				m, err := c.Next(5 * time.Second)
				var got int
				if err != nil || m.Event != event || m.Decode(0, &got) != nil || got != i {
					t.Errorf("member %d: message %d: %+v, %v", k, i, m, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range members {
		none(t, c, event, 100*time.Millisecond) // no duplicates
	}
}

type commandReply struct {
	OK      bool `json:"ok"`
	Matched int  `json:"matched"`
	Acks    []struct {
		SID  string `json:"sid"`
		Args []any  `json:"args"`
	} `json:"acks"`
	TimedOut     int      `json:"timed_out"`
	MissingNodes []string `json:"missing_nodes"`
	Error        *struct {
		Code, Message string
	} `json:"error"`
}

type socketsReply struct {
	Sockets []struct {
		SID   string   `json:"sid"`
		Node  string   `json:"node"`
		Rooms []string `json:"rooms"`
	} `json:"sockets"`
	Partial      bool     `json:"partial"`
	MissingNodes []string `json:"missing_nodes"`
}

// TestClusterCommands: services' commands applied across nodes through the
// adapter: except, one-socket emit, broadcast with acks, fetch sockets,
// join/leave/disconnect, and partial results once a node is killed.
func TestClusterCommands(t *testing.T) {
	for _, adapter := range clusterAdapters {
		t.Run(adapter, func(t *testing.T) {
			e := newEnv(t, adapter, 3)
			clients := make([]*sioclient.Client, 3)
			sids := make([]string, 3)
			for i := range 3 {
				clients[i], sids[i] = e.client(i, "/chat")
			}
			join(t, clients[2], "/chat", "quiet")

			// except: everyone but the "quiet" room.
			var r commandReply
			e.command("emit", map[string]any{"ns": "/chat", "except": []string{"quiet"}, "event": "news", "args": []any{"x"}}, &r)
			if !r.OK {
				t.Fatalf("emit: %+v", r)
			}
			next(t, clients[0], "news")
			next(t, clients[1], "news")
			none(t, clients[2], "news", 200*time.Millisecond)

			// Volatile: clients that can take it at once (all of them, idle) get it.
			e.command("emit", map[string]any{"ns": "/chat", "rooms": []string{"quiet"}, "event": "v", "args": []any{}, "volatile": true}, &r)
			next(t, clients[2], "v")
			none(t, clients[0], "v", 100*time.Millisecond)

			// One socket on another node, by id.
			e.command("emit", map[string]any{"ns": "/chat", "sids": []string{sids[1]}, "event": "dm", "args": []any{1}}, &r)
			next(t, clients[1], "dm")
			none(t, clients[0], "dm", 100*time.Millisecond)
			none(t, clients[2], "dm", 100*time.Millisecond)

			// Broadcast with acks across nodes.
			for i, c := range clients {
				go func() {
					m, err := c.Next(5 * time.Second)
					if err == nil && m.Event == "ask" && m.HasID {
						_ = c.Ack(m, "yes", i)
					}
				}()
			}
			e.command("emit", map[string]any{"ns": "/chat", "event": "ask", "args": []any{}, "ack_timeout_ms": 3000}, &r)
			if !r.OK || r.Matched != 3 || len(r.Acks) != 3 || r.TimedOut != 0 || len(r.MissingNodes) != 0 {
				t.Fatalf("emit with acks: %+v", r)
			}

			// Fetch sockets across nodes.
			var s socketsReply
			e.command("sockets", map[string]any{"ns": "/chat"}, &s)
			if len(s.Sockets) != 3 || s.Partial || len(s.MissingNodes) != 0 {
				t.Fatalf("sockets: %+v", s)
			}
			for _, so := range s.Sockets {
				if i := slices.Index(sids, so.SID); i < 0 || so.Node != e.edges[i].id {
					t.Errorf("socket %+v: want node of %v", so, sids)
				}
			}

			// Join and leave across nodes.
			e.command("join", map[string]any{"ns": "/chat", "sids": []string{sids[0], sids[2]}, "join": []string{"vip"}}, &r)
			if !r.OK || r.Matched != 2 {
				t.Fatalf("join: %+v", r)
			}
			e.command("sockets", map[string]any{"ns": "/chat", "rooms": []string{"vip"}}, &s)
			if len(s.Sockets) != 2 {
				t.Fatalf("sockets in vip after join: %+v", s)
			}
			e.command("leave", map[string]any{"ns": "/chat", "rooms": []string{"vip"}, "leave": []string{"vip"}}, &r)
			if !r.OK || r.Matched != 2 {
				t.Fatalf("leave: %+v", r)
			}
			e.command("sockets", map[string]any{"ns": "/chat", "rooms": []string{"vip"}}, &s)
			if len(s.Sockets) != 0 {
				t.Fatalf("sockets in vip after leave: %+v", s)
			}

			// Disconnect one socket of another node.
			e.command("disconnect", map[string]any{"ns": "/chat", "sids": []string{sids[1]}}, &r)
			if !r.OK || r.Matched != 1 {
				t.Fatalf("disconnect: %+v", r)
			}

			// A node killed: its sockets are gone and the others still answer,
			// naming it among the missing nodes until it is known dead.
			e.edges[2].kill(syscall.SIGKILL)
			e.command("sockets", map[string]any{"ns": "/chat"}, &s)
			if len(s.Sockets) != 1 || s.Sockets[0].SID != sids[0] {
				t.Fatalf("sockets after kill: %+v", s)
			}
			if !s.Partial || !slices.Equal(s.MissingNodes, []string{"e3"}) {
				t.Fatalf("sockets after kill: partial=%v missing=%v, want e3 named", s.Partial, s.MissingNodes)
			}
		})
	}
}

// TestClusterOrderedPublish: emits a service publishes on P.bcast reach every
// member on every node exactly once and in the order published, whichever
// the adapter; P.cmd.emit, handled by one edge per command, does not promise
// that order.
func TestClusterOrderedPublish(t *testing.T) {
	for _, adapter := range clusterAdapters {
		t.Run(adapter, func(t *testing.T) {
			e := newEnv(t, adapter, 3)
			members := roomMembers(t, e, "r")
			outsider, _ := e.client(2, "/chat")
			const n = 200
			for i := range n {
				body := fmt.Sprintf(`{"ns":"/chat","rooms":["r"],"event":"seq","args":[%d]}`, i)
				if err := e.nc.Publish("sb.bcast", []byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			expectSequence(t, members, "seq", n) // once per node, not once per edge
			none(t, outsider, "seq", 100*time.Millisecond)
		})
	}
}
