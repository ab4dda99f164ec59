package engine

import (
	"crypto/rand"
	"encoding/base64"
	"sync/atomic"
)

var sidCounter atomic.Uint32

// NewID returns a fresh 20-character session id: 12 random bytes and a 3-byte
// counter, base64url-encoded, like the reference's base64id. Socket.IO socket
// ids use the same form.
func NewID() string {
	var b [15]byte
	_, _ = rand.Read(b[:12])
	n := sidCounter.Add(1)
	b[12], b[13], b[14] = byte(n>>16), byte(n>>8), byte(n)
	return base64.URLEncoding.EncodeToString(b[:])
}

// NewTaggedID is NewID whose first 3 bytes (4 characters) are tag: ids of
// one node share their start, which lets a cluster route by it. The rest
// stays random and unique.
func NewTaggedID(tag [3]byte) string {
	var b [15]byte
	copy(b[:3], tag[:])
	_, _ = rand.Read(b[3:12])
	n := sidCounter.Add(1)
	b[12], b[13], b[14] = byte(n>>16), byte(n>>8), byte(n)
	return base64.URLEncoding.EncodeToString(b[:])
}
