package socketio_test

import (
	"encoding/json"
	"fmt"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

func ExampleDecode() {
	p, err := socketio.Decode([]byte(`2/chat,456["message",{"text":"hi"}]`), 0)
	if err != nil {
		panic(err)
	}
	name, _ := socketio.EventName(p.Data)
	args, _ := socketio.SplitArray(nil, p.Data)
	fmt.Println(p.Type, p.Namespace, p.ID, name)
	fmt.Printf("%s\n", args[1])
	// Output:
	// EVENT /chat 456 message
	// {"text":"hi"}
}

func ExampleDecoder() {
	var d socketio.Decoder
	_, ok, _ := d.Text([]byte(`51-["upload",{"file":{"_placeholder":true,"num":0}}]`))
	fmt.Println(ok, d.Pending())
	p, ok, _ := d.Binary([]byte{0xca, 0xfe})
	fmt.Println(ok, p.Type, len(p.Attachments))

	resolved, _ := socketio.ResolvePlaceholders(p.Data, p.Attachments)
	args, _ := socketio.SplitArray(nil, resolved)
	var arg struct{ File []byte }
	json.Unmarshal(args[1], &arg)
	fmt.Printf("%s %x\n", resolved, arg.File)
	// Output:
	// false true
	// true BINARY_EVENT 1
	// ["upload",{"file":"yv4="}] cafe
}

func ExampleAppendEventData() {
	type photo struct {
		Caption string `json:"caption"`
		Image   []byte `json:"image"`
	}
	data, att, err := socketio.AppendEventData(nil, "photo", []any{photo{"sunset", []byte{1, 2, 3}}, 42})
	if err != nil {
		panic(err)
	}
	p := socketio.Packet{Type: socketio.Event, Namespace: "/", Data: data}
	if len(att) > 0 {
		p.Type, p.Attachments = socketio.BinaryEvent, att
	}
	fmt.Printf("%s\n", socketio.AppendPacket(nil, &p))
	fmt.Println(att)
	// Output:
	// 51-["photo",{"caption":"sunset","image":{"_placeholder":true,"num":0}},42]
	// [[1 2 3]]
}
