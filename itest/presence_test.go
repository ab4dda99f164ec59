package itest

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/internal/sioclient"
	"github.com/switchboard-rt/switchboard/internal/testutil"
)

type presenceReply struct {
	Count   int64 `json:"count"`
	Users   int64 `json:"users"`
	Members []struct {
		SID  string `json:"sid"`
		Node string `json:"node"`
		User string `json:"user"`
	} `json:"members"`
	Next  string `json:"next"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

type presenceEvents struct {
	mu     sync.Mutex
	events []string // "<subject> <action> <sid or user>"
}

func (p *presenceEvents) count(substr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if strings.Contains(e, substr) {
			n++
		}
	}
	return n
}

// presenceEnv is a 3-edge cluster whose /chat requires authentication by a
// test auth service that names the user the client claims, and that
// records every presence event.
func presenceEnv(t *testing.T) (*env, *presenceEvents) {
	t.Helper()
	e := newEnv(t, "redis", 3, "--auth-namespace", "/chat")
	if _, err := e.nc.Subscribe("sb.auth.chat", func(m *nats.Msg) {
		var req struct {
			Auth struct {
				User string `json:"user"`
			} `json:"auth"`
		}
		_ = json.Unmarshal(m.Data, &req)
		b, _ := json.Marshal(map[string]any{"ok": true, "user": req.Auth.User})
		_ = m.Respond(b)
	}); err != nil {
		t.Fatal(err)
	}
	ev := &presenceEvents{}
	record := func(m *nats.Msg) {
		var body struct{ Action, SID, User string }
		_ = json.Unmarshal(m.Data, &body)
		who := body.SID
		if who == "" {
			who = body.User
		}
		ev.mu.Lock()
		ev.events = append(ev.events, m.Subject+" "+body.Action+" "+who)
		ev.mu.Unlock()
	}
	for _, s := range []string{"sb.presence.chat.*", "sb.user.chat"} {
		if _, err := e.nc.Subscribe(s, record); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return e, ev
}

func (e *env) authClient(i int, user string) (*sioclient.Client, string) {
	e.t.Helper()
	return e.clientAuth(i, "/chat", map[string]string{"user": user})
}

func (e *env) presence(q map[string]any) presenceReply {
	e.t.Helper()
	var r presenceReply
	e.command("presence", q, &r)
	if r.Error != nil {
		e.t.Fatalf("presence %v: error %s", q, r.Error.Code)
	}
	return r
}

func (e *env) waitPresence(q map[string]any, count, users int64) presenceReply {
	e.t.Helper()
	var r presenceReply
	testutil.CheckFor(e.t, 10*time.Second, 20*time.Millisecond, func() error {
		r = e.presence(q)
		if r.Count != count || r.Users != users {
			return fmt.Errorf("presence %v: count %d users %d, want %d and %d", q, r.Count, r.Users, count, users)
		}
		return nil
	})
	return r
}

// TestPresenceAcrossNodes: counts, member lists and user presence across
// three edges with the real client protocol; join/leave and online/offline
// events published once; the CLI reads the same.
func TestPresenceAcrossNodes(t *testing.T) {
	e, ev := presenceEnv(t)
	// User u1 has a tab on e1 and one on e2; u2 one on e3.
	a, sa := e.authClient(0, "u1")
	b, sb := e.authClient(1, "u1")
	c, sc := e.authClient(2, "u2")
	for _, cl := range []*sioclient.Client{a, b, c} {
		join(t, cl, "/chat", "general")
	}
	r := e.waitPresence(map[string]any{"ns": "/chat", "room": "general"}, 3, 2)
	nodes := map[string]string{}
	for _, m := range r.Members {
		nodes[m.SID] = m.Node
	}
	if nodes[sa] != "e1" || nodes[sb] != "e2" || nodes[sc] != "e3" {
		t.Fatalf("members: %+v", r.Members)
	}
	e.waitPresence(map[string]any{"ns": "/chat", "user": "u1"}, 2, 1)
	e.waitPresence(map[string]any{"ns": "/chat"}, 3, 2)

	// Paging: one member per page, three pages.
	seen := map[string]bool{}
	cursor := ""
	for range 5 {
		q := map[string]any{"ns": "/chat", "room": "general", "limit": 1}
		if cursor != "" {
			q["cursor"] = cursor
		}
		p := e.presence(q)
		for _, m := range p.Members {
			seen[m.SID] = true
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(seen) != 3 {
		t.Fatalf("paging saw %v", seen)
	}

	// The CLI answers the same.
	out, err := exec.Command(binary, "presence", "--nats-url", e.nats, "--ns", "/chat", "--room", "general").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"count":3`) || !strings.Contains(string(out), `"users":2`) {
		t.Fatalf("switchboard presence: %v\n%s", err, out)
	}

	// One of u1's tabs leaves: u1 stays online; the second makes it offline.
	a.Close()
	e.waitPresence(map[string]any{"ns": "/chat", "room": "general"}, 2, 2)
	b.Close()
	e.waitPresence(map[string]any{"ns": "/chat", "room": "general"}, 1, 1)
	testutil.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if n := ev.count("sb.user.chat offline u1"); n != 1 {
			return fmt.Errorf("%d offline events for u1", n)
		}
		return nil
	})
	for _, want := range []string{
		"sb.presence.chat.general join " + sa, "sb.presence.chat.general join " + sb, "sb.presence.chat.general join " + sc,
		"sb.presence.chat.general leave " + sa, "sb.presence.chat.general leave " + sb,
		"sb.user.chat online u1", "sb.user.chat online u2",
	} {
		if n := ev.count(want); n != 1 {
			t.Errorf("%q published %d times, want once", want, n)
		}
	}
}

// TestPresenceNodeCrash: kill -9 of an edge: its members leave presence
// within TTL + one heartbeat, with one leave event each; a graceful
// shutdown removes members at once; presence is rebuilt after Redis loses
// its data.
func TestPresenceNodeCrash(t *testing.T) {
	e, ev := presenceEnv(t)
	_, s1 := e.authClient(0, "u1")
	_, s2 := e.authClient(1, "u2")
	c3, s3 := e.authClient(2, "u3")
	join(t, c3, "/chat", "general")
	e.waitPresence(map[string]any{"ns": "/chat"}, 3, 3)

	// Redis loses everything: the live nodes write their members again.
	if out, err := e.redis.Do("FLUSHALL"); err != nil || out != "+OK" {
		t.Fatalf("FLUSHALL: %q %v", out, err)
	}
	e.waitPresence(map[string]any{"ns": "/chat"}, 3, 3)

	// Crash: TTL is 3s and the heartbeat 1s in this environment.
	killed := time.Now()
	e.edges[2].kill(syscall.SIGKILL)
	e.waitPresence(map[string]any{"ns": "/chat"}, 2, 2)
	if d := time.Since(killed); d > 5*time.Second {
		t.Errorf("the dead node's member stayed %v", d)
	}
	e.waitPresence(map[string]any{"ns": "/chat", "room": "general"}, 0, 0)
	time.Sleep(time.Second) // a second survivor must not clean up again
	if n := ev.count("sb.presence.chat.general leave " + s3); n != 1 {
		t.Errorf("leave of the dead node's member published %d times, want once", n)
	}
	if n := ev.count("sb.user.chat offline u3"); n != 1 {
		t.Errorf("offline u3 published %d times, want once", n)
	}

	// Graceful shutdown: members removed at once, well before the TTL.
	stopped := time.Now()
	e.edges[1].kill(syscall.SIGTERM)
	r := e.waitPresence(map[string]any{"ns": "/chat"}, 1, 1)
	if d := time.Since(stopped); d > 2500*time.Millisecond {
		t.Errorf("graceful shutdown took %v to clear presence", d)
	}
	if len(r.Members) != 1 || r.Members[0].SID != s1 {
		t.Fatalf("members after shutdown: %+v (s2 %s)", r.Members, s2)
	}
}

// TestPresenceRealClients: the official socket.io-client (default options:
// polling, then the upgrade) on all three edges; counts and member lists
// from P.cmd.presence; all gone once the clients disconnect.
func TestPresenceRealClients(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: .ci/run installs Node.js and the itest/js packages")
	}
	e, _ := presenceEnv(t)
	args := []string{"interop/presence.mjs"}
	users := []string{"ann", "bob", "ann", "cid", "bob", "ann"}
	for i, u := range users {
		args = append(args, "--client", e.edges[i%3].url(), u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = "js"
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	var got struct{ SIDs []string }
	if err := json.NewDecoder(stdout).Decode(&got); err != nil {
		t.Fatalf("presence.mjs: %v; stderr: %s", err, stderr.String())
	}
	r := e.waitPresence(map[string]any{"ns": "/chat", "room": "general", "limit": 1000}, 6, 3)
	want := map[string]string{}
	for i, sid := range got.SIDs {
		want[sid] = e.edges[i%3].id
	}
	for _, m := range r.Members {
		if want[m.SID] != m.Node {
			t.Errorf("member %+v: want node %q", m, want[m.SID])
		}
		delete(want, m.SID)
	}
	if len(want) != 0 {
		t.Errorf("members missing: %v", want)
	}
	e.waitPresence(map[string]any{"ns": "/chat", "user": "ann"}, 3, 1)
	_ = stdin.Close()
	e.waitPresence(map[string]any{"ns": "/chat"}, 0, 0)
}
