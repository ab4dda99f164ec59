package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/bus"
	busredis "github.com/switchboard-rt/switchboard/bus/redis"
)

// exampleURL is a private redis-server started by TestMain for the examples.
var exampleURL string

func TestMain(m *testing.M) {
	stop, err := startExampleRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "example redis-server:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func startExampleRedis() (stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir, err := os.MkdirTemp("", "busredis-example")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", "")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w (apt-get install -y redis-server)", err)
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); _ = os.RemoveAll(dir) }
	exampleURL = "redis://127.0.0.1:" + strconv.Itoa(port)
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c.Ping(context.Background()).Err() == nil {
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("redis-server on port %d not ready", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// room1Local is the edge side of a node with one socket, in room1.
type room1Local struct{ got chan string }

func (l room1Local) Broadcast(b *bus.Broadcast) { l.got <- fmt.Sprintf("%s to %v", b.Data, b.Rooms) }
func (room1Local) BroadcastWithAck(*bus.Broadcast, time.Duration, func(bus.Message)) int {
	return 0
}
func (room1Local) Join(bus.Selector, []string) int   { return 0 }
func (room1Local) Leave(bus.Selector, []string) int  { return 0 }
func (room1Local) Disconnect(bus.Selector, bool) int { return 0 }
func (room1Local) Sockets(bus.Selector) []bus.SocketInfo {
	return []bus.SocketInfo{{ID: "s1", Rooms: []string{"s1", "room1"}, Data: json.RawMessage(`{"name":"alice"}`)}}
}
func (room1Local) Rooms() []string                               { return []string{"room1", "s1"} }
func (room1Local) HasRoom(room string) bool                      { return room == "room1" || room == "s1" }
func (room1Local) ServerSideEmit(bus.Message, func(bus.Message)) {}

// Two nodes share a cluster through Redis: a broadcast from one reaches the other's sockets,
// and a cluster request gathers the other's sockets.
func Example() {
	ctx := context.Background()
	a, err := busredis.New(ctx, busredis.Config{URL: exampleURL, NodeID: "node-a"})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	b, err := busredis.New(ctx, busredis.Config{URL: exampleURL, NodeID: "node-b"})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	nsA, err := a.Attach("/", room1Local{got: make(chan string, 1)})
	if err != nil {
		panic(err)
	}
	got := make(chan string, 1)
	if _, err := b.Attach("/", room1Local{got: got}); err != nil {
		panic(err)
	}

	// io.to("room1").emit("chat", "hi") on node A.
	err = nsA.Publish(ctx, &bus.Broadcast{
		Selector: bus.Selector{Rooms: []string{"room1"}},
		Message:  bus.Message{Data: json.RawMessage(`["chat","hi"]`)},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("node-b delivers", <-got)

	// fetchSockets() on node A.
	sockets, res, err := nsA.FetchSockets(ctx, bus.Selector{Rooms: []string{"room1"}})
	if err != nil {
		panic(err)
	}
	for _, s := range sockets {
		fmt.Println("socket", s.ID, "on", s.Node, "data", string(s.Data))
	}
	fmt.Println("answered:", res.Answered, "missing:", res.Missing)
	// Output:
	// node-b delivers ["chat","hi"] to [room1]
	// socket s1 on node-b data {"name":"alice"}
	// answered: 1 missing: []
}
