package engineio_test

import (
	"fmt"

	"github.com/switchboard-rt/switchboard/protocol/engineio"
)

func ExampleDecodePayload() {
	body := []byte("4hello\x1ebAQIDBA==\x1e2")
	_ = engineio.DecodePayload(body, func(p engineio.Packet) error {
		if p.Binary {
			fmt.Println(p.Type, p.Data)
		} else {
			fmt.Printf("%s %q\n", p.Type, p.Data)
		}
		return nil
	})
	// Output:
	// message "hello"
	// message [1 2 3 4]
	// ping ""
}
