package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/service"
)

func TestPresence(t *testing.T) {
	e := setup(t, service.Options{})
	q := e.stub("sb.cmd.presence", `{"count":2,"users":1,"members":[{"sid":"s1","node":"n1","data":{"tab":1},"user":"u1"}],"next":"c2"}`)
	ctx := context.Background()
	r, err := e.c.Presence(ctx, contract.PresenceQuery{NS: "chat", Room: "general", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.wait(t, 0); got != `{"ns":"/chat","room":"general","limit":1}` {
		t.Errorf("presence body %s", got)
	}
	if r.Count != 2 || r.Users != 1 || r.Next != "c2" || len(r.Members) != 1 || r.Members[0].SID != "s1" || string(r.Members[0].Data) != `{"tab":1}` {
		t.Errorf("presence reply %+v", r)
	}

	e2 := setup(t, service.Options{})
	e2.stub("sb.cmd.presence", `{"error":{"code":"too_large","message":"limit"}}`)
	_, err = e2.c.Presence(ctx, contract.PresenceQuery{NS: "/", Limit: 5000})
	var ce *contract.Error
	if !errors.As(err, &ce) || ce.Code != contract.CodeTooLarge {
		t.Errorf("error reply: %v", err)
	}
}

func TestPresenceEvents(t *testing.T) {
	e := setup(t, service.Options{})
	rooms := make(chan *contract.PresenceEvent, 4)
	users := make(chan *contract.PresenceEvent, 4)
	if _, err := e.c.OnRoomPresence("/chat", "general", func(_ context.Context, ev *contract.PresenceEvent) { rooms <- ev }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.OnUserPresence("/chat", func(_ context.Context, ev *contract.PresenceEvent) { users <- ev }); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = e.edge.Publish("sb.presence.chat.other", []byte(`{"action":"join","sid":"x","node":"n1"}`))
	_ = e.edge.Publish("sb.presence.chat.general", []byte(`{"action":"join","sid":"s1","node":"n1","user":"u1"}`))
	_ = e.edge.Publish("sb.user.chat", []byte(`{"action":"online","user":"u1","node":"n1"}`))
	select {
	case ev := <-rooms:
		if ev.Action != "join" || ev.SID != "s1" || ev.User != "u1" {
			t.Errorf("room event %+v", ev)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no room event")
	}
	select {
	case ev := <-users:
		if ev.Action != "online" || ev.User != "u1" || ev.Node != "n1" {
			t.Errorf("user event %+v", ev)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no user event")
	}
	select {
	case ev := <-rooms:
		t.Errorf("event of another room delivered: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}
