package edge

import (
	"encoding/json"
	"sync"

	"github.com/switchboard-rt/switchboard/edge/engine"
	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// frames encodes one Socket.IO packet into the Engine.IO frames that carry
// it: the text packet ("4" + encoding) and one binary frame per attachment.
// The frames are immutable and may be queued to any number of sessions.
func frames(p *socketio.Packet) []engine.Frame {
	out := make([]engine.Frame, 1+len(p.Attachments))
	out[0] = engine.Frame{Data: encodePacket(p)}
	for i, a := range p.Attachments {
		out[i+1] = engine.Frame{Data: a, Binary: true}
	}
	return out
}

// encodePacket encodes p's text frame: "4" and the packet.
func encodePacket(p *socketio.Packet) []byte {
	b := make([]byte, 1, 1+24+len(p.Namespace)+len(p.Data))
	b[0] = '4'
	return socketio.AppendPacket(b, p)
}

// encodeArgs encodes args into the data of an event (event != "") or an ack.
// A single Args value is spliced in raw.
func encodeArgs(event string, hasEvent bool, args []any) ([]byte, [][]byte, error) {
	if len(args) == 1 {
		if a, ok := args[0].(Args); ok {
			return spliceArgs(event, hasEvent, a), a.Attachments(), nil
		}
	}
	bp := scratchPool.Get().(*[]byte)
	var data []byte
	var atts [][]byte
	var err error
	if hasEvent {
		data, atts, err = socketio.AppendEventData((*bp)[:0], event, args)
	} else {
		data, atts, err = socketio.AppendAckData((*bp)[:0], args)
	}
	out := make([]byte, len(data))
	copy(out, data)
	if cap(data) <= 64<<10 {
		*bp = data[:0]
	}
	scratchPool.Put(bp)
	return out, atts, err
}

func spliceArgs(event string, hasEvent bool, args Args) []byte {
	a := args.vals()
	if !hasEvent {
		return a.data
	}
	name, _ := json.Marshal(event)
	b := make([]byte, 0, len(name)+len(a.data)+1)
	b = append(b, '[')
	b = append(b, name...)
	if len(a.elems) > 0 {
		b = append(b, ',')
		b = append(b, a.data[1:]...)
	} else {
		b = append(b, ']')
	}
	return b
}

func packetType(event bool, atts [][]byte) socketio.Type {
	switch {
	case event && len(atts) > 0:
		return socketio.BinaryEvent
	case event:
		return socketio.Event
	case len(atts) > 0:
		return socketio.BinaryAck
	default:
		return socketio.Ack
	}
}

// appendOffset appends a recovery offset as the last argument of an event array.
func appendOffset(data []byte, offset string) []byte {
	b := make([]byte, 0, len(data)+len(offset)+3)
	b = append(b, data[:len(data)-1]...)
	b = append(b, ',', '"')
	b = append(b, offset...)
	return append(b, '"', ']')
}
