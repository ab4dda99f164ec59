package nats

import (
	"crypto/sha256"
	"encoding/base64"
)

// One-socket broadcasts go to the node that holds the socket. The edge
// starts every socket id with its adapter's tag (bus.SocketIDTagger): 3
// bytes of the node id's hash, the first 4 characters of the id. A
// broadcast to a socket-id room is published on P.node.sel.<ns>.<tag>,
// which only the node with that tag subscribes to (two nodes whose tags
// collide both receive it, and the one without the socket drops it).

// socketIDTag returns the tag of node id.
func socketIDTag(nodeID string) [3]byte {
	h := sha256.Sum256([]byte(nodeID))
	return [3]byte{h[0], h[1], h[2]}
}

// tagToken is the 4-character form of a tag: how socket ids start.
func tagToken(tag [3]byte) string { return base64.URLEncoding.EncodeToString(tag[:]) }

// SocketIDTag is the tag the edge puts at the start of the socket ids of
// this node (bus.SocketIDTagger).
func (a *Adapter) SocketIDTag() [3]byte { return a.tag }

// tagSub is a shared subscription to one P.node.sel.<ns>.<tag> subject:
// the node's own tag, and the tags of named rooms that look like socket
// ids. It is counted so that each subject is subscribed once.
type tagSub struct {
	*trackedSub
	refs int
}

// refTag subscribes to the tagged sel subject of tag, or counts one more
// user of it. ns.mu is held.
func (ns *namespace) refTag(tag string) error {
	if s := ns.tags[tag]; s != nil {
		s.refs++
		return nil
	}
	sub, err := ns.a.nc.ChanSubscribe(ns.selSubj+"."+tag, ns.a.bcCh)
	if err != nil {
		return err
	}
	ns.tags[tag] = &tagSub{trackedSub: &trackedSub{Subscription: sub}, refs: 1}
	return nil
}

// unrefTag drops one user of tag's subscription. ns.mu is held.
func (ns *namespace) unrefTag(tag string) {
	s := ns.tags[tag]
	if s == nil {
		return
	}
	if s.refs--; s.refs == 0 {
		delete(ns.tags, tag)
		_ = s.Unsubscribe()
	}
}
