package wire_test

import (
	"encoding/json"
	"fmt"

	"github.com/switchboard-rt/switchboard/bus/redis/wire"
)

// A Go edge publishes io.to("room1").emit("photo", "sunset", <bytes>) the way a Node server with
// @socket.io/redis-adapter would, and reads it back as any subscriber does.
func Example() {
	data := json.RawMessage(`["photo","sunset",{"_placeholder":true,"num":0}]`)
	opts := wire.Opts{Rooms: []string{"room1"}}
	msg, err := wire.EncodeBroadcast("Go1xyz", "/", data, [][]byte{{0xca, 0xfe}}, nil, opts)
	if err != nil {
		panic(err)
	}
	channel := wire.PublishChannel(wire.DefaultKey, "/", &opts)
	fmt.Printf("PUBLISH %s %x\n", channel, msg)

	// A subscriber of PSUBSCRIBE socket.io#/#* receives (channel, msg).
	room, _ := wire.ParseBroadcastChannel(wire.DefaultKey, "/", channel)
	b, err := wire.DecodeBroadcast(msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(room, b.UID, b.Packet.NSP, b.Opts.Rooms)
	fmt.Printf("%s %x\n", b.Packet.Data, b.Packet.Attachments)
	// Output:
	// PUBLISH socket.io#/#room1# 93a6476f3178797a83a47479706502a46461746193a570686f746fa673756e736574c402cafea36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380
	// room1 Go1xyz / [room1]
	// ["photo","sunset",{"_placeholder":true,"num":0}] [cafe]
}

// Answering a Node server's fetchSockets() (REMOTE_FETCH) request.
func ExampleDecodeRequest() {
	q, err := wire.DecodeRequest([]byte(`{"uid":"vjpYAZ","requestId":"023OHF","type":5,"opts":{"rooms":["room1"],"except":[]}}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(q.Type, q.RequestID, q.Opts.Rooms)

	resp, err := wire.EncodeResponse(&wire.Response{
		RequestID: q.RequestID,
		Sockets: []wire.SocketInfo{{
			ID:        "j0wpkWobCnBucrfTAAAA",
			Handshake: json.RawMessage(`{"address":"::1","auth":{}}`),
			Rooms:     []string{"j0wpkWobCnBucrfTAAAA", "room1"},
			Data:      json.RawMessage(`{}`),
		}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("PUBLISH %s %s\n", wire.ResponseChannel(wire.DefaultKey, "/"), resp)
	// Output:
	// REMOTE_FETCH 023OHF [room1]
	// PUBLISH socket.io-response#/# {"requestId":"023OHF","sockets":[{"id":"j0wpkWobCnBucrfTAAAA","handshake":{"address":"::1","auth":{}},"rooms":["j0wpkWobCnBucrfTAAAA","room1"],"data":{}}]}
}
