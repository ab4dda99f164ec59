package nats

import (
	"strings"

	"github.com/switchboard-rt/switchboard/contract"
)

// subjects names the adapter's subjects under one prefix; tokens are
// escaped as package contract escapes them (contract.NamespaceToken,
// contract.NameToken).
type subjects struct {
	node string // P.node.
}

func newSubjects(prefix string) subjects { return subjects{node: prefix + ".node."} }

// heartbeat is P.node.hb: heartbeats, hellos and goodbyes of every node.
func (s subjects) heartbeat() string { return s.node + "hb" }

// nodeInbox is P.node.<id>.* : replies (P.node.<id>.rep) and id probes
// (P.node.<id>.ping) for one node.
func (s subjects) nodeInbox(id string) string { return s.node + contract.NameToken(id) + ".*" }

// reply is P.node.<id>.rep, where a node's requests are answered.
func (s subjects) reply(id string) string { return s.node + contract.NameToken(id) + ".rep" }

// ping is P.node.<id>.ping: answered by the live node with that id.
func (s subjects) ping(id string) string { return s.node + contract.NameToken(id) + ".ping" }

// requests is P.node.req.* : cluster requests of every namespace.
func (s subjects) requests() string { return s.node + "req.*" }

// request is P.node.req.<ns>: the cluster requests of namespace nsTok.
func (s subjects) request(nsTok string) string { return s.node + "req." + nsTok }

// all is P.node.bc.<ns>: broadcasts to a whole namespace.
func (s subjects) all(nsTok string) string { return s.node + "bc." + nsTok }

// room is P.node.bc.<ns>.<room>: broadcasts to a room, received by the
// nodes that have members in it.
func (s subjects) room(nsTok, room string) string {
	return s.node + "bc." + nsTok + "." + contract.NameToken(room)
}

// selected is P.node.sel.<ns>: broadcasts every node receives and filters
// with Local.HasRoom (long room lists); P.node.sel.<ns>.<tag> carries
// those to socket ids starting with tag (owner.go).
func (s subjects) selected(nsTok string) string { return s.node + "sel." + nsTok }

// broadcastNamespace returns the namespace token of a broadcast subject
// (P.node.bc.<ns>[.<room>] or P.node.sel.<ns>) and whether it is a sel
// subject; ok is false for any other subject.
func (s subjects) broadcastNamespace(subj string) (nsTok string, sel, ok bool) {
	rest, found := strings.CutPrefix(subj, s.node)
	if !found {
		return "", false, false
	}
	switch {
	case strings.HasPrefix(rest, "bc."):
		rest = rest[3:]
	case strings.HasPrefix(rest, "sel."):
		rest, sel = rest[4:], true
	default:
		return "", false, false
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[:i] // a room, or the owner tag of P.node.sel.<ns>.<tag>
	}
	return rest, sel, rest != ""
}

// requestNamespace returns the namespace token of a request subject.
func (s subjects) requestNamespace(subj string) (string, bool) {
	rest, found := strings.CutPrefix(subj, s.node+"req.")
	if !found || rest == "" || strings.IndexByte(rest, '.') >= 0 {
		return "", false
	}
	return rest, true
}
