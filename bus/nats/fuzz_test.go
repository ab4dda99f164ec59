package nats

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/switchboard-rt/switchboard/bus"
)

// FuzzDecode feeds arbitrary bytes to every envelope decoder: none may
// panic, and a broadcast or request that decodes re-encodes to a form
// that decodes to the same value. The seed corpus is the encodings of the
// samples (below) and testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for i := range sampleBroadcasts {
		f.Add(appendBroadcast(nil, 1, &sampleBroadcasts[i]))
	}
	for _, q := range sampleRequests() {
		f.Add(appendRequest(nil, 2, q))
	}
	f.Add(appendSockets(appendReplyHeader(nil, 3, "n", 4, 5, partResult), []bus.SocketInfo{{ID: "s", Rooms: []string{"r"}}}))
	f.Add(appendNodeMsg(nil, kindHeartbeat, 4, "node", hbHello))
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b bus.Broadcast
		if inst, seq, err := decodeBroadcast(data, &b); err == nil {
			enc := appendBroadcast(nil, inst, &b)
			setSeq(enc, seq)
			var again bus.Broadcast
			if _, _, err := decodeBroadcast(enc, &again); err != nil || !sameBroadcast(&b, &again) {
				t.Fatalf("broadcast does not round-trip: %v\n%+v\n%+v", err, b, again)
			}
		}
		if q, err := decodeRequest(data); err == nil {
			again, err := decodeRequest(appendRequest(nil, q.inst, q))
			if err != nil || again.op != q.op || again.id != q.id || again.node != q.node ||
				!reflect.DeepEqual(again.sel, q.sel) || !reflect.DeepEqual(again.rooms, q.rooms) {
				t.Fatalf("request does not round-trip: %v\n%+v\n%+v", err, q, again)
			}
		}
		if rep, err := decodeReply(data); err == nil {
			_, _ = decodeSockets(rep.payload)
			_, _ = decodeStrings(rep.payload)
			_, _ = decodeUvarint(rep.payload)
			_, _ = decodeMessage(rep.payload)
		}
		_, _, _, _, _ = decodeNodeMsg(data)
	})
}

func sameBroadcast(a, b *bus.Broadcast) bool {
	if a.Volatile != b.Volatile || !bytes.Equal(a.Data, b.Data) || len(a.Attachments) != len(b.Attachments) ||
		!reflect.DeepEqual(a.Selector, b.Selector) {
		return false
	}
	for i := range a.Attachments {
		if !bytes.Equal(a.Attachments[i], b.Attachments[i]) {
			return false
		}
	}
	return true
}
