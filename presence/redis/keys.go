package redis

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/switchboard-rt/switchboard/presence"
)

// keys builds the key names of doc.go; they must match the scripts' prelude.
type keys struct{ p string }

// nk is a namespace's part of a key: its length, ':', the namespace, so that
// no (namespace, name) pair can spell another's key.
func nk(ns string) string { return strconv.Itoa(len(ns)) + ":" + ns }

func (k keys) members(ns, room string) string { return k.p + ":m:" + nk(ns) + ":" + room }
func (k keys) users(ns, room string) string   { return k.p + ":u:" + nk(ns) + ":" + room }
func (k keys) userSocks(ns, user string) string {
	return k.p + ":us:" + nk(ns) + ":" + user
}
func (k keys) socketRooms(ns, sid string) string { return k.p + ":sr:" + nk(ns) + ":" + sid }

// cursor is a position in an HSCAN: the Redis cursor and how many fields of
// the batch it returns were already given out (small hashes come back whole,
// whatever COUNT says).
type cursor struct {
	scan uint64
	skip int
}

const cursorVersion = "r1"

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString(
		[]byte(cursorVersion + ":" + strconv.FormatUint(c.scan, 10) + ":" + strconv.Itoa(c.skip)))
}

func parseCursor(s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	bad := fmt.Errorf("%w: %q", presence.ErrBadCursor, s)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != cursorVersion {
		return cursor{}, bad
	}
	scan, err1 := strconv.ParseUint(parts[1], 10, 64)
	skip, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || skip < 0 || skip > 1<<20 {
		return cursor{}, bad
	}
	return cursor{scan: scan, skip: skip}, nil
}
