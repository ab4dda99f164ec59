package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// checkDecodedData checks the invariants of a decoded JSON value with its attachments: valid JSON
// whose placeholders, when there are attachments, all resolve, which is what the rest of the
// system requires of a packet.
func checkDecodedData(t *testing.T, in []byte, data json.RawMessage, atts [][]byte) {
	t.Helper()
	if data == nil {
		return
	}
	if !json.Valid(data) {
		t.Fatalf("%x: decoded invalid JSON %q", in, data)
	}
	if len(atts) == 0 {
		return // placeholder-shaped objects are plain data
	}
	if err := socketio.CheckPlaceholders(data, len(atts)); err != nil {
		t.Fatalf("%x: decoded data %q with %d attachments: %v", in, data, len(atts), err)
	}
}

func FuzzDecodeBroadcast(f *testing.F) {
	for _, s := range broadcastSamples {
		f.Add(unhex(f, s.hex))
	}
	for _, h := range []string{
		"93a3676f3185a474797065" + "02a46e7370a12fa26964cd0100a46461746193a165c70300010203d6ff39457980" +
			"a76f7074696f6e738081a5666c61677381a774696d656f7574cb407f400000000000",
		"93a17583a47479706502a46461746192a16582a161d40000a162cb7ff8000000000000a36e7370a12f80",
		"94c083a47479706502a464617461929101c4000101a36e7370a12f83a5726f6f6d73920102a665786365707490a5666c6167738190c3c0",
	} {
		f.Add(unhex(f, h))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeBroadcast(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%x: error %v does not wrap ErrMalformed", b, err)
			}
			return
		}
		checkDecodedData(t, b, m.Packet.Data, m.Packet.Attachments)
		enc, err := EncodeBroadcast(m.UID, m.Packet.NSP, m.Packet.Data, m.Packet.Attachments, m.Packet.ID, m.Opts)
		if err != nil {
			t.Fatalf("%x: decoded %+v does not encode: %v", b, m, err)
		}
		again, err := DecodeBroadcast(enc)
		if err != nil {
			t.Fatalf("%x: re-encoded %x does not decode: %v", b, enc, err)
		}
		m.Packet.Type = socketio.Event // EncodeBroadcast always writes 2
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("%x: decode(encode(m)) != m:\n got %+v\nwant %+v", b, again, m)
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range requestSamples {
		f.Add([]byte(s.json))
	}
	for _, s := range responseSamples {
		f.Add([]byte(s.json))
	}
	f.Add(unhex(f, hexAskRequest))
	f.Add(unhex(f, hexAckResponse))
	f.Add([]byte(`{"type":6,"uid":"x","data":["a",{"_placeholder":true,"num":0},1.0,"\u00e9"],"requestId":null}`))
	f.Add(unhex(f, "84a474797065"+"06a3756964a178a464617461"+"92a161c40101a3756e6bc0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := DecodeRequest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%q: error %v does not wrap ErrMalformed", b, err)
			}
		} else {
			checkRequestRoundTrip(t, b, q)
		}
		// The same bytes as a response.
		s, err := DecodeResponse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%q: error %v does not wrap ErrMalformed", b, err)
			}
			return
		}
		checkResponseRoundTrip(t, b, s)
	})
}

func checkRequestRoundTrip(t *testing.T, b []byte, q Request) {
	if q.Packet != nil {
		checkDecodedData(t, b, q.Packet.Data, q.Packet.Attachments)
	}
	if len(q.Attachments) > 0 {
		checkDecodedData(t, b, q.Data, q.Attachments)
	}
	enc, err := EncodeRequest(&q)
	if err != nil {
		t.Fatalf("%q: decoded %+v does not encode: %v", b, q, err)
	}
	again, err := DecodeRequest(enc)
	if err != nil {
		t.Fatalf("%q: re-encoded %q does not decode: %v", b, enc, err)
	}
	if q.Packet != nil {
		q.Packet.Type = socketio.Event // the encoders always write 2
	}
	if !reflect.DeepEqual(again, q) {
		t.Fatalf("%q: decode(encode(q)) != q:\n got %+v\nwant %+v", b, again, q)
	}
}

func checkResponseRoundTrip(t *testing.T, b []byte, s Response) {
	enc, err := EncodeResponse(&s)
	if err != nil {
		t.Fatalf("%q: decoded %+v does not encode: %v", b, s, err)
	}
	again, err := DecodeResponse(enc)
	if err != nil {
		t.Fatalf("%q: re-encoded %q does not decode: %v", b, enc, err)
	}
	if !reflect.DeepEqual(again, s) {
		t.Fatalf("%q: decode(encode(s)) != s:\n got %+v\nwant %+v", b, again, s)
	}
}
