package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/presence"
	"github.com/switchboard-rt/switchboard/presence/presencetest"
	presenceredis "github.com/switchboard-rt/switchboard/presence/redis"
)

// TestRedisFlushed: when Redis loses everything, the live nodes write their
// membership again within a heartbeat, without announcing it again.
func TestRedisFlushed(t *testing.T) {
	w := newWorld(t)
	a, b := w.node("a"), w.node("b")
	w.populate(a, "a", 20, "room", "red")
	w.populate(b, "b", 30, "room")
	w.sync(a, b)
	before := w.rec.Len()
	if _, err := w.srv.Do("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := w.h.reader(t)
	w.waitCounts(r, "room", 50, 2)
	t.Logf("presence rebuilt %v after FLUSHALL (heartbeat %v)", time.Since(start).Round(time.Millisecond), heartbeat)
	w.waitCounts(r, "red", 20, 1)
	w.waitCounts(r, "", 50, 2)
	rooms, err := r.SocketRooms(w.ctx(), "/", "a3")
	if err != nil || len(rooms) != 2 {
		t.Fatalf("SocketRooms after rebuild: %v, %v", rooms, err)
	}
	if n := w.rec.Len(); n != before {
		t.Fatalf("rebuild emitted %d events: %+v", n-before, w.rec.Find(func(presencetest.Recorded) bool { return true })[before:])
	}
	// Business as usual afterwards.
	w.must(a.Leave("/", "a0", "room"))
	w.sync(a)
	w.waitCounts(r, "room", 49, 2)
	if n := w.events(presence.ActionLeave, "room"); n != 1 {
		t.Fatalf("%d leave events, want 1", n)
	}
}

// TestRedisRestarted: Redis down then back empty; callers never block, reads
// fail with ErrUnavailable meanwhile, and the changes made during the outage
// are written and announced once when it returns.
func TestRedisRestarted(t *testing.T) {
	w := newWorld(t)
	a, b := w.node("a"), w.node("b")
	w.populate(a, "a", 10, "room")
	w.populate(b, "b", 10, "room")
	w.sync(a, b)
	joins, leaves := w.events(presence.ActionJoin, "room"), w.events(presence.ActionLeave, "room")

	stopped := time.Now()
	w.srv.Stop()
	t.Logf("redis-server stopped in %v", time.Since(stopped).Round(time.Millisecond))
	_, err := a.Counts(w.ctx(), "/", "room")
	if !errors.Is(err, presence.ErrUnavailable) {
		t.Fatalf("Counts with Redis down: %v, want ErrUnavailable", err)
	}
	_, err = a.Query(w.ctx(), presence.Query{NS: "/", Room: "room"})
	if !errors.Is(err, presence.ErrUnavailable) {
		t.Fatalf("Query with Redis down: %v, want ErrUnavailable", err)
	}
	var slowest time.Duration
	loopStart := time.Now()
	for i := range 500 { // writes do not wait for Redis
		sid := fmt.Sprintf("new%d", i)
		start := time.Now()
		w.must(a.Connect("/", presence.Member{SID: sid}))
		w.must(a.Join("/", sid, "room", "extra"))
		w.must(a.Leave("/", sid, "extra"))
		slowest = max(slowest, time.Since(start))
	}
	// A write that waited for Redis would take a dial timeout (go-redis
	// retries refused dials for 400ms); allow for a loaded machine.
	took := time.Since(loopStart)
	t.Logf("1500 writes with Redis down in %v, slowest %v", took, slowest)
	if took > 2*time.Second {
		t.Fatalf("1500 writes took %v with Redis down", took)
	}
	w.must(a.Leave("/", "a0", "room"))
	w.must(a.Disconnect("/", "a1"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = a.Sync(ctx)
	cancel()
	if !errors.Is(err, presence.ErrUnavailable) {
		t.Fatalf("Sync with Redis down: %v, want ErrUnavailable", err)
	}

	restarted := time.Now()
	w.srv.Restart() // empty
	t.Logf("redis-server restarted in %v", time.Since(restarted).Round(time.Millisecond))
	w.sync(a, b)
	t.Logf("nodes synced %v after the restart", time.Since(restarted).Round(time.Millisecond))
	r := w.h.reader(t)
	w.waitCounts(r, "room", 10+8+500, 2)
	w.waitCounts(r, "extra", 0, 0)
	w.waitCounts(r, "", 10+9+500, 2)
	presencetest.Consistently(t, 3*heartbeat, 20*time.Millisecond, func() error {
		if j := w.events(presence.ActionJoin, "room") - joins; j != 500 {
			return fmt.Errorf("%d new join events, want 500", j)
		}
		if l := w.events(presence.ActionLeave, "room") - leaves; l != 2 {
			return fmt.Errorf("%d new leave events, want 2 (a0, a1)", l)
		}
		return nil
	})
	if n := w.events(presence.ActionJoin, "extra"); n != 0 {
		t.Fatalf("%d join events for a room joined and left during the outage", n)
	}
}

// TestDivergedWrites: when Redis lost some of a node's writes (a failover to
// a late replica, a reply lost in transit) the node notices by its write
// sequence and writes its state again, silently.
func TestDivergedWrites(t *testing.T) {
	w := newWorld(t)
	m := &metrics{}
	cfg := w.cfg("a")
	cfg.Metrics = m
	a := w.h.start(t, cfg, w.h.client(t))
	w.populate(a, "a", 10, "room")
	w.sync(a)
	before := w.rec.Len()
	if _, err := w.srv.Do("HINCRBY", w.h.prefix+":node:a", "seq", "7"); err != nil {
		t.Fatal(err)
	}
	testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if n := m.rebuilt("diverged"); n != 1 {
			return fmt.Errorf("%d rebuilds", n)
		}
		return nil
	})
	w.sync(a)
	r := w.h.reader(t)
	w.waitCounts(r, "room", 10, 1)
	if n := w.rec.Len(); n != before {
		t.Fatalf("rebuild emitted %d events", n-before)
	}
	for i := range 10 {
		w.must(a.Disconnect("/", fmt.Sprintf("a%d", i)))
	}
	w.sync(a)
	w.waitCounts(r, "room", 0, 0)
	w.waitCounts(r, "", 0, 0)
	if l, o := w.events(presence.ActionLeave, "room"), w.events(presence.ActionOffline, ""); l != 10 || o != 1 {
		t.Fatalf("%d leaves and %d offline, want 10 and 1", l, o)
	}
}

// TestPartition: a node cut off from Redis for longer than its TTL is taken
// for dead (its leaves announced once by a survivor); when the link heals it
// registers again and announces its sockets anew.
func TestPartition(t *testing.T) {
	w := newWorld(t)
	p := startProxy(t, w.srv.Addr())
	ca := goredis.NewClient(&goredis.Options{
		Addr: p.addr(), ContextTimeoutEnabled: true, DialTimeout: 200 * time.Millisecond, MaxRetries: -1,
	})
	t.Cleanup(func() { _ = ca.Close() })
	a := w.h.start(t, w.cfg("a"), ca)
	b := w.node("b")
	w.populate(a, "a", 10, "room")
	w.populate(b, "b", 5, "room")
	w.sync(a, b)
	joins := w.events(presence.ActionJoin, "room")

	p.cut()
	r := w.h.reader(t)
	w.waitCounts(r, "room", 5, 1)
	if n := len(w.rec.Find(func(ev presencetest.Recorded) bool { return ev.Action == presence.ActionLeave && ev.By == "b" })); n != 10 {
		t.Fatalf("%d leaves announced by the survivor, want 10", n)
	}
	w.must(a.Disconnect("/", "a9")) // while cut off
	p.heal()
	w.waitCounts(r, "room", 14, 2)
	w.sync(a)
	presencetest.Consistently(t, 3*heartbeat, 20*time.Millisecond, func() error {
		if j := w.events(presence.ActionJoin, "room") - joins; j != 9 {
			return fmt.Errorf("%d joins announced again, want 9", j)
		}
		if l := w.events(presence.ActionLeave, "room"); l != 10 {
			return fmt.Errorf("%d leaves, want 10", l)
		}
		return nil
	})
}

// TestNodeIDConflict: a second live process with the same id takes it over;
// the first stops writing and says so, and registers again once the id is
// free.
func TestNodeIDConflict(t *testing.T) {
	w := newWorld(t)
	a1 := w.node("a")
	w.populate(a1, "one", 3, "room")
	w.sync(a1)
	a2 := w.node("a")
	w.populate(a2, "two", 2, "room")
	w.sync(a2)
	r := w.h.reader(t)
	w.waitCounts(r, "room", 2, 1)
	testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		w.must(a1.Join("/", "one0", "more"))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := a1.Sync(ctx); !errors.Is(err, presence.ErrNodeIDConflict) {
			return fmt.Errorf("Sync of the replaced node: %v, want ErrNodeIDConflict", err)
		}
		return nil
	})
	w.must(a2.Close(w.ctx()))
	w.waitCounts(r, "room", 3, 1)
	w.waitCounts(r, "more", 1, 1)
	w.sync(a1)
}

func TestReader(t *testing.T) {
	w := newWorld(t)
	a := w.node("a")
	w.populate(a, "a", 3, "room")
	w.sync(a)
	r := w.h.reader(t)
	c, err := r.Counts(w.ctx(), "/", "room")
	if err != nil || c != (presence.Counts{Members: 3, Users: 1}) {
		t.Fatalf("Counts = %+v, %v", c, err)
	}
	p, err := r.Query(w.ctx(), presence.Query{NS: "/", User: "a-user", Room: "room", Limit: 2})
	if err != nil || p.Count != 3 || p.Users != 1 || len(p.Members) == 0 || len(p.Members) > 2 || p.Next == "" {
		t.Fatalf("Query = %+v, %v", p, err)
	}
}

// TestCrashedBigNode: survivors share the cleanup of a big dead node, and
// every leave is still emitted exactly once.
func TestCrashedBigNode(t *testing.T) {
	w := newWorld(t)
	node := func(id string) *presenceredis.Tracker { // a longer lease: writing 20k sockets takes a while
		cfg := w.cfg(id)
		cfg.TTL, cfg.Heartbeat = 3*time.Second, 300*time.Millisecond
		return w.h.start(t, cfg, w.h.client(t))
	}
	survivors := []*presenceredis.Tracker{node("a"), node("b"), node("c")}
	dead := node("dead")
	const n = 20_000
	w.populate(dead, "d", n, "room")
	w.sync(dead)
	dead.Abandon()
	r := w.h.reader(t)
	testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		c, err := r.Counts(w.ctx(), "/", "")
		if err != nil || c.Members != 0 {
			return fmt.Errorf("namespace %+v, %v", c, err)
		}
		return nil
	})
	w.sync(survivors...)
	// The last reaper hands its events over right after its script ran.
	testutil.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		if n := w.events(presence.ActionLeave, "room"); n < 20_000 {
			return fmt.Errorf("%d leave events", n)
		}
		return nil
	})
	presencetest.Consistently(t, 2*heartbeat, 20*time.Millisecond, func() error { return nil })
	leaves := w.rec.Find(presencetest.Is(presence.ActionLeave, "/", "room", ""))
	by := make(map[string]int)
	seen := make(map[string]bool)
	for _, ev := range leaves {
		if seen[ev.SID] {
			t.Fatalf("two leave events for %s: %+v", ev.SID, w.rec.Find(presencetest.Is(presence.ActionLeave, "/", "room", ev.SID)))
		}
		seen[ev.SID] = true
		by[ev.By]++
	}
	if len(seen) != n {
		t.Fatalf("%d leave events, want %d", len(seen), n)
	}
	t.Logf("leaves emitted per survivor: %v", by)
	if off := w.rec.Find(presencetest.Is(presence.ActionOffline, "/", "", "")); len(off) != 1 {
		t.Fatalf("%d offline events, want 1", len(off))
	}
}

// TestLostReplies: the connection breaks after Redis ran a batch but before
// its reply arrived. The node fetches the kept reply (or go-redis retries
// the pipeline and gets it): the events are emitted once, nothing rebuilt.
func TestLostReplies(t *testing.T) {
	for _, retries := range []int{-1, 3} {
		t.Run(fmt.Sprintf("MaxRetries=%d", retries), func(t *testing.T) {
			w := newWorld(t)
			p := startProxy(t, w.srv.Addr())
			ca := goredis.NewClient(&goredis.Options{
				Addr: p.addr(), ContextTimeoutEnabled: true, DialTimeout: 200 * time.Millisecond, MaxRetries: retries,
			})
			t.Cleanup(func() { _ = ca.Close() })
			m := &metrics{}
			cfg := w.cfg("a")
			cfg.Metrics = m
			a := w.h.start(t, cfg, ca)
			w.populate(a, "a", 10, "room")
			w.sync(a)

			p.swallowReplies()
			rooms := make([]string, 10)
			for i := range rooms {
				rooms[i] = fmt.Sprintf("late%d", i)
			}
			w.must(a.Join("/", "a0", rooms...)) // one socket's change: one batch
			r := w.h.reader(t)
			w.waitCounts(r, "late9", 1, 1) // the batch ran
			p.heal()                       // and its reply never came
			w.sync(a)
			late := func(ev presencetest.Recorded) bool {
				return ev.Action == presence.ActionJoin && strings.HasPrefix(ev.Room, "late")
			}
			presencetest.Consistently(t, 3*heartbeat, 20*time.Millisecond, func() error {
				if n := len(w.rec.Find(late)); n != 10 {
					return fmt.Errorf("%d join events, want 10", n)
				}
				return nil
			})
			for _, reason := range []string{"lost", "diverged", "reaped"} {
				if n := m.rebuilt(reason); n != 0 {
					t.Fatalf("rebuilt (%s) %d times", reason, n)
				}
			}
			w.must(a.Leave("/", "a0", "late0"))
			w.sync(a)
			w.waitCounts(r, "late0", 0, 0)
		})
	}
}
