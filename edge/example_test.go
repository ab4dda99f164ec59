package edge_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/switchboard-rt/switchboard/edge"
)

// The seed's flow: the client emits createRoom with {name:"general"} and an
// ack callback; the handler answers {id, status:"ok"} and the callback gets
// it. The client side is spelled out on the wire here; socket.io-client does
// the same with socket.emit("createRoom", {name: "general"}, cb).
func Example() {
	srv := edge.New(edge.Config{})
	srv.Of("/").OnConnection(func(s *edge.Socket) {
		s.On("createRoom", func(e *edge.Event) {
			var req struct {
				Name string `json:"name"`
			}
			if err := e.Args.Decode(0, &req); err != nil {
				return
			}
			_ = e.Ack(map[string]string{"id": "room-" + req.Name, "status": "ok"})
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Close()
	read := func() string { _, m, _ := ws.ReadMessage(); return string(m) }
	read()                                                   // Engine.IO open packet
	_ = ws.WriteMessage(websocket.TextMessage, []byte("40")) // CONNECT "/"
	fmt.Println(strings.HasPrefix(read(), `40{"sid":"`))
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`420["createRoom",{"name":"general"}]`))
	fmt.Println(read())
	// Output:
	// true
	// 430[{"id":"room-general","status":"ok"}]
}

// Rooms and broadcasts: every socket is in the room named by its id; To,
// Except and Volatile select recipients, and the packet is encoded once.
func ExampleNamespace_To() {
	srv := edge.New(edge.Config{})
	chat := srv.Of("/chat")
	chat.OnConnection(func(s *edge.Socket) {
		s.Join("general")
		s.On("say", func(e *edge.Event) {
			// To everyone in "general" but the sender.
			_ = s.To("general").Emit("said", s.ID(), e.Args.String(0))
		})
	})
	_ = chat.To("general").Except("muted").Emit("announcement", "hello")
	fmt.Println(chat.Name())
	// Output: /chat
}
