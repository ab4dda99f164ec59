package engine

import (
	"encoding/binary"
	"net/http"
	"time"
)

// packedHandshake keeps a session's handshake in one byte slice: header and
// query pairs, the remote address and the URL, each a uvarint length and
// its bytes. A session reads its handshake a few times in its life (auth,
// connection notices), while maps of headers and query would cost every
// idle connection about a kilobyte more.
type packedHandshake struct {
	b          []byte
	nh, nq     int32 // header and query pairs
	secure, ok bool
	time       time.Time
}

func packHandshake(h *Handshake) packedHandshake {
	if h == nil {
		return packedHandshake{}
	}
	n := len(h.RemoteAddr) + len(h.URL) + 4
	for k, vs := range h.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	for k, v := range h.Query {
		n += len(k) + len(v) + 4
	}
	p := packedHandshake{b: make([]byte, 0, n), secure: h.Secure, ok: true, time: h.Time}
	for k, vs := range h.Header {
		for _, v := range vs {
			p.b = appendStr(appendStr(p.b, k), v)
			p.nh++
		}
	}
	for k, v := range h.Query {
		p.b = appendStr(appendStr(p.b, k), v)
		p.nq++
	}
	p.b = appendStr(appendStr(p.b, h.RemoteAddr), h.URL)
	return p
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// unpack returns a new Handshake (nil for a session opened without one).
func (p *packedHandshake) unpack() *Handshake {
	if !p.ok {
		return nil
	}
	b := p.b
	next := func() string {
		n, k := binary.Uvarint(b)
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s
	}
	h := &Handshake{Header: make(http.Header, p.nh), Query: make(map[string]string, p.nq), Secure: p.secure, Time: p.time}
	for range p.nh {
		k := next()
		h.Header[k] = append(h.Header[k], next())
	}
	for range p.nq {
		k := next()
		h.Query[k] = next()
	}
	h.RemoteAddr = next()
	h.URL = next()
	return h
}
