package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/examples/chat/chatsvc"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
	"github.com/switchboard-rt/switchboard/service"
)

// fakeEdge plays the edges' side of the commands on one NATS: it records the
// commands sent under each prefix and answers them. The socket "s1" is in
// room-general; every other socket only in its own room.
type fakeEdge struct {
	mu   sync.Mutex
	cmds map[string][]string // prefix → "<command> <body>", in arrival order
}

func newFakeEdge(t *testing.T, nc *nats.Conn, prefixes ...string) *fakeEdge {
	e := &fakeEdge{cmds: map[string][]string{}}
	for _, p := range prefixes {
		_, err := nc.Subscribe(p+".cmd.*", func(m *nats.Msg) {
			name := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
			e.mu.Lock()
			e.cmds[p] = append(e.cmds[p], name+" "+string(m.Data))
			e.mu.Unlock()
			switch name {
			case "sockets":
				var sel struct{ SIDs []string }
				_ = json.Unmarshal(m.Data, &sel)
				var socks []string
				for _, sid := range sel.SIDs {
					rooms := `["` + sid + `"]`
					if sid == "s1" {
						rooms = `["s1","room-general"]`
					}
					socks = append(socks, `{"sid":"`+sid+`","node":"n1","rooms":`+rooms+`,"data":null}`)
				}
				_ = m.Respond([]byte(`{"sockets":[` + strings.Join(socks, ",") + `],"partial":false,"missing_nodes":[]}`))
			default:
				_ = m.Respond([]byte(`{"ok":true,"matched":1,"missing_nodes":[]}`))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return e
}

// take returns and forgets the commands recorded under prefix.
func (e *fakeEdge) take(prefix string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.cmds[prefix]
	delete(e.cmds, prefix)
	return c
}

var reAt = regexp.MustCompile(`"at":\d+`)

// TestServicesAnswerAlike sends the same events to the Go service (prefix
// "go", in-process) and to the Node.js one (prefix "node") and compares
// their replies and the commands they send, byte for byte (message time
// stamps aside).
func TestServicesAnswerAlike(t *testing.T) {
	t.Parallel()
	nodeModules(t, "examples/node-service", "nats")
	ctx := testContext(t)
	srv := natstest.Start(t, nil)
	edge := natstest.Connect(t, srv.ClientURL())
	fe := newFakeEdge(t, edge, "go", "node")

	// The Go service.
	svc := natstest.Connect(t, srv.ClientURL())
	c, err := service.New(svc, service.Options{Prefix: "go", Queue: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		_ = c.Shutdown(ctx)
	})
	if err := chatsvc.Register(c, chatsvc.Options{Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The Node.js service.
	p := start(t, ctx, "chat (Node.js)", "examples/node-service", true, "node", "service.mjs",
		"--nats-url", srv.ClientURL(), "--prefix", "node")
	p.waitFor(t, ctx, reReady)

	long := strings.Repeat("ü", chatsvc.MaxTextLen)
	cases := []struct {
		sid, event, args string
		noAck            bool
		want             string // the reply, when it matters exactly
		wantCmds         []string
	}{
		{sid: "s1", event: "createRoom", args: `[{"name":"general"}]`,
			want: `{"args":[{"id":"room-general","status":"ok"}],"join":["room-general"]}`},
		{sid: "s1", event: "createRoom", args: `[{"name":"general","topic":"x"}]`},
		{sid: "s1", event: "createRoom", args: `[{"name":""}]`,
			want: `{"error":{"code":"bad_request","message":"want {name} of 1 to 64 letters, digits, '-' or '_'"}}`},
		{sid: "s1", event: "createRoom", args: `[{"name":"a.b"}]`},
		{sid: "s1", event: "createRoom", args: `[{"name":"` + strings.Repeat("a", 65) + `"}]`},
		{sid: "s1", event: "createRoom", args: `[{"name":42}]`},
		{sid: "s1", event: "createRoom", args: `["general"]`},
		{sid: "s1", event: "createRoom", args: `[null]`},
		{sid: "s1", event: "createRoom", args: `[]`},
		{sid: "s2", event: "joinRoom", args: `["general"]`,
			want: `{"args":[{"id":"room-general","ok":true}],"join":["room-general"]}`},
		{sid: "s2", event: "joinRoom", args: `["x y"]`},
		{sid: "s2", event: "joinRoom", args: `[{"name":"general"}]`},
		{sid: "s2", event: "joinRoom", args: `[]`},
		{sid: "s2", event: "leaveRoom", args: `["general"]`,
			want: `{"args":[{"id":"room-general","ok":true}],"leave":["room-general"]}`},
		{sid: "s2", event: "leaveRoom", args: `[7]`},
		{sid: "s1", event: "message", args: `[{"room":"general","text":"hi"}]`,
			want: `{"args":[{"ok":true}]}`,
			wantCmds: []string{
				`sockets {"ns":"/chat","sids":["s1"]}`,
				`emit {"ns":"/chat","rooms":["room-general"],"event":"message","args":[{"room":"general","from":"s1","text":"hi","at":0}]}`,
			}},
		{sid: "s1", event: "message", args: `[{"room":"general","text":"` + long + `"}]`},
		{sid: "s1", event: "message", args: `[{"room":"general","text":"` + long + `!"}]`},
		{sid: "s2", event: "message", args: `[{"room":"general","text":"hi"}]`,
			want: `{"error":{"code":"bad_request","message":"join general before sending to it"}}`},
		{sid: "s1", event: "message", args: `[{"room":"general","text":""}]`},
		{sid: "s1", event: "message", args: `[{"room":"general"}]`},
		{sid: "s1", event: "message", args: `[{"room":"general","text":null}]`},
		{sid: "s1", event: "message", args: `[{"room":"","text":"hi"}]`},
		{sid: "s1", event: "message", args: `[{"room":5,"text":"hi"}]`},
		{sid: "s1", event: "message", args: `[{"text":"hi"}]`},
		{sid: "s1", event: "message", args: `[null]`},
		{sid: "s1", event: "message", args: `["general"]`},
		{sid: "s1", event: "message", args: `[]`},
		// Without ack: no reply, the rooms change by command.
		{sid: "s3", event: "joinRoom", args: `["general"]`, noAck: true,
			wantCmds: []string{`join {"ns":"/chat","sids":["s3"],"join":["room-general"]}`}},
		{sid: "s3", event: "leaveRoom", args: `["general"]`, noAck: true,
			wantCmds: []string{`leave {"ns":"/chat","sids":["s3"],"leave":["room-general"]}`}},
	}
	for i, tc := range cases {
		name := fmt.Sprintf("%d %s(%s)", i, tc.event, tc.args)
		if len(name) > 80 {
			name = name[:80] + "…"
		}
		ev := fmt.Sprintf(`{"sid":%q,"ns":"/chat","event":%q,"args":%s,"node":"n1"}`, tc.sid, tc.event, tc.args)
		replies := map[string]string{}
		for _, prefix := range []string{"go", "node"} {
			subject := prefix + ".ev.chat." + tc.event
			if tc.noAck {
				if err := edge.Publish(subject, []byte(ev)); err != nil {
					t.Fatal(err)
				}
				continue
			}
			m, err := edge.RequestWithContext(ctx, subject, []byte(ev))
			if err != nil {
				t.Fatalf("%s: %s: %v", name, prefix, err)
			}
			replies[prefix] = string(m.Data)
		}
		if replies["go"] != replies["node"] {
			t.Errorf("%s: replies differ\n  go:   %s\n  node: %s", name, replies["go"], replies["node"])
		} else if tc.want != "" && replies["go"] != tc.want {
			t.Errorf("%s: reply %s, want %s", name, replies["go"], tc.want)
		}
		cmds := map[string][]string{}
		for _, prefix := range []string{"go", "node"} {
			// Commands published without ack arrive on their own time.
			deadline := time.Now().Add(5 * time.Second)
			for {
				cmds[prefix] = append(cmds[prefix], fe.take(prefix)...)
				if len(cmds[prefix]) >= len(tc.wantCmds) || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			for j, c := range cmds[prefix] {
				cmds[prefix][j] = reAt.ReplaceAllString(c, `"at":0`)
			}
		}
		if !slices.Equal(cmds["go"], cmds["node"]) {
			t.Errorf("%s: commands differ\n  go:   %q\n  node: %q", name, cmds["go"], cmds["node"])
		} else if tc.wantCmds != nil && !slices.Equal(cmds["go"], tc.wantCmds) {
			t.Errorf("%s: commands %q, want %q", name, cmds["go"], tc.wantCmds)
		}
	}
}
