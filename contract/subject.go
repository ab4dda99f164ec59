package contract

import (
	"errors"
	"strings"
)

// DefaultPrefix is the default subject prefix.
const DefaultPrefix = "sb"

// ErrBadToken is returned when a subject token does not decode.
var ErrBadToken = errors.New("contract: malformed subject token")

const hexDigits = "0123456789ABCDEF"

func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// escape writes s with every byte outside [A-Za-z0-9_-] as %XX.
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !plain(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// NamespaceToken returns the subject token of a namespace: "_" for "/",
// otherwise the name without its leading "/", escaped (a name that would
// read "_" is written "%5F").
func NamespaceToken(ns string) string {
	if ns == "/" || ns == "" {
		return "_"
	}
	return NameToken(strings.TrimPrefix(ns, "/"))
}

// NameToken returns the subject token of an event or room name: the name
// escaped, "%5F" for "_" (which stands for the root namespace), and "_" for
// the empty name.
func NameToken(name string) string {
	switch name {
	case "":
		return "_"
	case "_":
		return "%5F"
	}
	return escape(name)
}

// ParseNamespaceToken is the inverse of NamespaceToken.
func ParseNamespaceToken(tok string) (string, error) {
	if tok == "_" {
		return "/", nil
	}
	name, err := unescape(tok)
	if err != nil {
		return "", err
	}
	return "/" + name, nil
}

// ParseNameToken is the inverse of NameToken.
func ParseNameToken(tok string) (string, error) {
	if tok == "_" {
		return "", nil
	}
	return unescape(tok)
}

func unescape(tok string) (string, error) {
	if tok == "" || strings.IndexByte(tok, '.') >= 0 {
		return "", ErrBadToken
	}
	if strings.IndexByte(tok, '%') < 0 {
		return tok, nil
	}
	b := make([]byte, 0, len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(tok) {
			return "", ErrBadToken
		}
		hi, lo := unhex(tok[i+1]), unhex(tok[i+2])
		if hi < 0 || lo < 0 {
			return "", ErrBadToken
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	}
	return -1
}

// Subjects builds the subjects of one prefix.
type Subjects struct{ Prefix string }

func (s Subjects) p() string {
	if s.Prefix == "" {
		return DefaultPrefix
	}
	return s.Prefix
}

// Event is the subject of a client event: P.ev.<ns>.<event>.
func (s Subjects) Event(ns, event string) string {
	return s.p() + ".ev." + NamespaceToken(ns) + "." + NameToken(event)
}

// Conn is the subject of connection notices: P.conn.<ns>.
func (s Subjects) Conn(ns string) string { return s.p() + ".conn." + NamespaceToken(ns) }

// Disc is the subject of disconnection notices: P.disc.<ns>.
func (s Subjects) Disc(ns string) string { return s.p() + ".disc." + NamespaceToken(ns) }

// Auth is the subject of authentication requests: P.auth.<ns>.
func (s Subjects) Auth(ns string) string { return s.p() + ".auth." + NamespaceToken(ns) }

// Command is the subject of a cluster command: P.cmd.<name> (emit, join,
// leave, disconnect, sockets, presence).
func (s Subjects) Command(name string) string { return s.p() + ".cmd." + name }

// Broadcast is the subject of ordered emits: P.bcast. Every edge receives
// each message (no queue group), in the order it was published, and delivers
// it to its own sockets only.
func (s Subjects) Broadcast() string { return s.p() + ".bcast" }

// Presence is the subject of room presence changes: P.presence.<ns>.<room>.
func (s Subjects) Presence(ns, room string) string {
	return s.p() + ".presence." + NamespaceToken(ns) + "." + NameToken(room)
}

// User is the subject of user online/offline changes: P.user.<ns>.
func (s Subjects) User(ns string) string { return s.p() + ".user." + NamespaceToken(ns) }

// Node is the prefix of a node's internal subjects: P.node.<id>.
func (s Subjects) Node(id string) string { return s.p() + ".node." + NameToken(id) }

// ValidPrefix reports whether prefix is usable: dot-separated tokens of
// [A-Za-z0-9_-].
func ValidPrefix(prefix string) bool {
	if prefix == "" {
		return false
	}
	for _, tok := range strings.Split(prefix, ".") {
		if tok == "" {
			return false
		}
		for i := 0; i < len(tok); i++ {
			if !plain(tok[i]) {
				return false
			}
		}
	}
	return true
}
