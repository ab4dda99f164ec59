package redis_test

import (
	"context"
	"fmt"
	"log"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/presence"
	presenceredis "github.com/switchboard-rt/switchboard/presence/redis"
)

// A cluster node tracks its sockets in Redis; the gateway publishes the
// events to NATS. (Needs a Redis on localhost: not run by go test.)
func ExampleNew() {
	tr, err := presenceredis.New(presenceredis.Config{
		Config: presence.Config{
			NodeID: "edge-1",
			OnEvent: func(ev presence.Event) {
				// e.g. nc.Publish(subjects.Presence(ev.NS, ev.Room), body)
				log.Printf("%s %s/%s %s", ev.Action, ev.NS, ev.Room, ev.SID)
			},
		},
		URL: "redis://127.0.0.1:6379",
	})
	if err != nil {
		log.Fatal(err)
	}
	// On SIGTERM: remove this node's members at once.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tr.Close(ctx)
	}()

	_ = tr.Connect("/chat", presence.Member{SID: "sid-1", User: "alice"})
	_ = tr.Join("/chat", "sid-1", "lobby")

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := tr.Counts(ctx, "/chat", "lobby")
	fmt.Println(c.Members, err)
}

// A service-side tool reads presence without being a node.
func ExampleNewReader() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	r := presenceredis.NewReader(client, "") // the default key prefix

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	page, err := r.Query(ctx, presence.Query{NS: "/chat", User: "alice"})
	fmt.Println(page.Count, err)
}
