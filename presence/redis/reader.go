package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/presence"
)

var _ presence.Reader = (*Reader)(nil)

// Reader answers presence queries from Redis without being a node (for the
// CLI or a service gateway). It is safe for concurrent use.
type Reader struct {
	c goredis.UniversalClient
	k keys
}

// NewReader returns a Reader of the presence stored under prefix (zero means
// DefaultKeyPrefix) by the trackers using c.
func NewReader(c goredis.UniversalClient, prefix string) *Reader {
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	return &Reader{c: c, k: keys{prefix}}
}

// maxScanRounds bounds the HSCAN calls of one page: a sparse hash may answer
// empty batches; the page then ends early with a cursor.
const maxScanRounds = 16

func unavailable(err error) error {
	return fmt.Errorf("%w: %w", presence.ErrUnavailable, err)
}

// Counts returns the number of members and distinct users of namespace ns
// (room "") or of a room, with HLENs in one MULTI: one round trip, O(1).
func (r *Reader) Counts(ctx context.Context, ns, room string) (presence.Counts, error) {
	if ns == "" {
		return presence.Counts{}, fmt.Errorf("%w: empty namespace", presence.ErrInvalid)
	}
	pipe := r.c.TxPipeline() // MULTI: the counts (and first batch) of one moment
	m := pipe.HLen(ctx, r.k.members(ns, room))
	u := pipe.HLen(ctx, r.k.users(ns, room))
	if _, err := pipe.Exec(ctx); err != nil {
		return presence.Counts{}, unavailable(err)
	}
	return presence.Counts{Members: m.Val(), Users: u.Val()}, nil
}

// SocketRooms returns the rooms of socket sid in namespace ns, sorted.
func (r *Reader) SocketRooms(ctx context.Context, ns, sid string) ([]string, error) {
	if err := presence.CheckNames(ns, sid); err != nil {
		return nil, err
	}
	rooms, err := r.c.SMembers(ctx, r.k.socketRooms(ns, sid)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	sort.Strings(rooms)
	return rooms, nil
}

// Query returns the counts and one page of the members q selects. Pages
// follow HSCAN: a member present during the whole scan is returned at least
// once.
func (r *Reader) Query(ctx context.Context, q presence.Query) (presence.Page, error) {
	q, err := q.Normalize()
	if err != nil {
		return presence.Page{}, err
	}
	cur, err := parseCursor(q.Cursor)
	if err != nil {
		return presence.Page{}, err
	}
	page := presence.Page{Members: []presence.Member{}}
	scanKey := r.k.members(q.NS, q.Room)
	pipe := r.c.TxPipeline() // MULTI: the counts (and first batch) of one moment
	var count, users *goredis.IntCmd
	var userCount *goredis.StringCmd
	switch {
	case q.User == "":
		count = pipe.HLen(ctx, scanKey)
		users = pipe.HLen(ctx, r.k.users(q.NS, q.Room))
	case q.Room == "":
		scanKey = r.k.userSocks(q.NS, q.User)
		count = pipe.HLen(ctx, scanKey)
	default:
		scanKey = r.k.userSocks(q.NS, q.User)
		userCount = pipe.HGet(ctx, r.k.users(q.NS, q.Room), q.User)
	}
	scan := pipe.HScan(ctx, scanKey, cur.scan, "", int64(q.Limit))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return presence.Page{}, unavailable(err)
	}
	switch {
	case q.User == "":
		page.Count, page.Users = count.Val(), users.Val()
	case q.Room == "":
		page.Count = count.Val()
	default:
		page.Count, _ = userCount.Int64()
	}
	if q.User != "" && page.Count > 0 {
		page.Users = 1
	}
	fields, next, err := scan.Result()
	if err != nil {
		return presence.Page{}, unavailable(err)
	}
	for round := 1; ; round++ {
		if q.User != "" && q.Room != "" {
			if fields, err = r.inRoom(ctx, q.NS, q.Room, fields); err != nil {
				return presence.Page{}, err
			}
		}
		pairs := len(fields) / 2
		i := min(cur.skip, pairs)
		for ; i < pairs && len(page.Members) < q.Limit; i++ {
			if fields[2*i+1] == "" {
				continue // filtered out
			}
			var m presence.Member
			if err := json.Unmarshal([]byte(fields[2*i+1]), &m); err != nil {
				return presence.Page{}, fmt.Errorf("presence/redis: member %q of %q: %w", fields[2*i], scanKey, err)
			}
			m.Data = normData(m.Data)
			page.Members = append(page.Members, m)
		}
		switch {
		case i < pairs:
			page.Next = cursor{scan: cur.scan, skip: i}.String()
			return page, nil
		case next == 0:
			return page, nil
		}
		cur = cursor{scan: next}
		if len(page.Members) == q.Limit || round == maxScanRounds {
			page.Next = cur.String()
			return page, nil
		}
		fields, next, err = r.c.HScan(ctx, scanKey, cur.scan, "", int64(q.Limit-len(page.Members))).Result()
		if err != nil {
			return presence.Page{}, unavailable(err)
		}
	}
}

// inRoom replaces the values of fields (sid, member pairs of a user's
// sockets) by the sockets' members in room, "" for those not in it.
func (r *Reader) inRoom(ctx context.Context, ns, room string, fields []string) ([]string, error) {
	if len(fields) == 0 {
		return fields, nil
	}
	sids := make([]string, 0, len(fields)/2)
	for i := 0; i+1 < len(fields); i += 2 {
		sids = append(sids, fields[i])
	}
	vals, err := r.c.HMGet(ctx, r.k.members(ns, room), sids...).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]string, 0, len(fields))
	for i, sid := range sids {
		v, _ := vals[i].(string)
		out = append(out, sid, v)
	}
	return out, nil
}
