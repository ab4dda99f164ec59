package nats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/bus"
	busnats "github.com/switchboard-rt/switchboard/bus/nats"
)

// printLocal is a Local that prints the broadcasts it gets.
type printLocal struct {
	node string
	got  chan struct{}
}

func (l printLocal) Broadcast(b *bus.Broadcast) {
	fmt.Printf("%s got %s for rooms %v\n", l.node, b.Data, b.Rooms)
	l.got <- struct{}{}
}
func (printLocal) BroadcastWithAck(*bus.Broadcast, time.Duration, func(bus.Message)) int { return 0 }
func (printLocal) Join(bus.Selector, []string) int                                       { return 0 }
func (printLocal) Leave(bus.Selector, []string) int                                      { return 0 }
func (printLocal) Disconnect(bus.Selector, bool) int                                     { return 0 }
func (l printLocal) Sockets(bus.Selector) []bus.SocketInfo {
	return []bus.SocketInfo{{ID: "sock-1", Node: l.node, Data: json.RawMessage("null")}}
}
func (printLocal) Rooms() []string                               { return []string{"general"} }
func (printLocal) HasRoom(room string) bool                      { return room == "general" }
func (printLocal) ServerSideEmit(bus.Message, func(bus.Message)) {}

// Two nodes on one NATS server: edge-2 has members in room "general", so
// it subscribes to the room and gets edge-1's broadcast to it; edge-1
// fetches the sockets of the cluster.
func Example() {
	srv, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	go srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(5 * time.Second) {
		panic("nats-server not ready")
	}
	ctx := context.Background()
	node := func(id string, local bus.Local) (*busnats.Adapter, bus.Namespace, *natsgo.Conn) {
		nc, err := natsgo.Connect(srv.ClientURL())
		if err != nil {
			panic(err)
		}
		a, err := busnats.New(ctx, busnats.Config{Conn: nc, NodeID: id})
		if err != nil {
			panic(err)
		}
		ns, err := a.Attach("/chat", local)
		if err != nil {
			panic(err)
		}
		return a, ns, nc
	}
	a1, ns1, nc1 := node("edge-1", printLocal{node: "edge-1"})
	defer nc1.Close()
	defer a1.Close()
	got := make(chan struct{}, 1)
	a2, ns2, nc2 := node("edge-2", printLocal{node: "edge-2", got: got})
	defer nc2.Close()
	defer a2.Close()

	ns2.RoomCreated("general") // the first local socket joined "general"
	_ = nc2.Flush()            // (the subscription reached the server)

	_ = ns1.Publish(ctx, &bus.Broadcast{
		Selector: bus.Selector{Rooms: []string{"general"}},
		Message:  bus.Message{Data: json.RawMessage(`["message","hi"]`)},
	})
	<-got

	socks, res, err := ns1.FetchSockets(ctx, bus.Selector{})
	fmt.Println(len(socks), socks[0].ID, socks[0].Node, res.Answered, res.Missing, err)
	// Output:
	// edge-2 got ["message","hi"] for rooms [general]
	// 1 sock-1 edge-2 1 [] <nil>
}
