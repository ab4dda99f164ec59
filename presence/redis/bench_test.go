package redis_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/redistest"
	"github.com/switchboard-rt/switchboard/presence"
	presenceredis "github.com/switchboard-rt/switchboard/presence/redis"
)

// roundTrips is a go-redis hook counting round trips: one per command, one
// per pipeline.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// counted starts a tracker whose round trips are counted, with production
// lease timings.
func counted(tb testing.TB, h cluster, id string) (*presenceredis.Tracker, *roundTrips) {
	tb.Helper()
	c := h.client(tb)
	rt := &roundTrips{}
	c.AddHook(rt)
	return h.start(tb, presence.Config{NodeID: id}, c), rt
}

func syncOrFail(tb testing.TB, t presence.Tracker) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := t.Sync(ctx); err != nil {
		tb.Fatal(err)
	}
}

func connectN(tb testing.TB, t presence.Tracker, prefix string, n int, rooms ...string) {
	tb.Helper()
	for i := range n {
		sid := fmt.Sprintf("%s%d", prefix, i)
		if err := t.Connect("/", presence.Member{SID: sid, User: fmt.Sprintf("u%d", i%1000)}); err != nil {
			tb.Fatal(err)
		}
		if len(rooms) > 0 {
			if err := t.Join("/", sid, rooms...); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// TestRoundTripsPerJoin: a burst of joins costs far less than a round trip
// each: the writer coalesces them into pipelines of batch scripts.
func TestRoundTripsPerJoin(t *testing.T) {
	srv := redistest.Start(t)
	tr, rt := counted(t, newCluster(srv), "a")
	syncOrFail(t, tr)
	const n = 5000
	before := rt.n.Load()
	connectN(t, tr, "s", n, "room", "other")
	syncOrFail(t, tr)
	per := float64(rt.n.Load()-before) / (3 * n)
	t.Logf("%d round trips for %d connects and %d joins: %.4f per operation", rt.n.Load()-before, n, 2*n, per)
	if per > 0.25 {
		t.Fatalf("%.3f round trips per operation", per)
	}
}

// BenchmarkJoinLeave measures joins and leaves through Redis: b.N sockets
// join a room, then leave it, each phase written completely (Sync).
func BenchmarkJoinLeave(b *testing.B) {
	srv := redistest.Start(b)
	tr, rt := counted(b, newCluster(srv), "a")
	connectN(b, tr, "s", b.N)
	syncOrFail(b, tr)
	b.ReportAllocs()
	before := rt.n.Load()
	b.ResetTimer()
	for i := range b.N {
		_ = tr.Join("/", fmt.Sprintf("s%d", i), "room")
	}
	syncOrFail(b, tr)
	for i := range b.N {
		_ = tr.Leave("/", fmt.Sprintf("s%d", i), "room")
	}
	syncOrFail(b, tr)
	b.StopTimer()
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "joins+leaves/s")
	b.ReportMetric(float64(rt.n.Load()-before)/float64(2*b.N), "roundtrips/op")
}

// BenchmarkChurn measures continuous concurrent traffic: each iteration
// moves a socket from one room to the next (a join and a leave), from
// several goroutines, without waiting for the writes.
func BenchmarkChurn(b *testing.B) {
	srv := redistest.Start(b)
	tr, rt := counted(b, newCluster(srv), "a")
	const socks = 1000
	connectN(b, tr, "s", socks)
	syncOrFail(b, tr)
	var next atomic.Int64
	before := rt.n.Load()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			sid := fmt.Sprintf("s%d", i%socks)
			room := fmt.Sprintf("r%d", i/socks)
			_ = tr.Join("/", sid, room)
			_ = tr.Leave("/", sid, fmt.Sprintf("r%d", i/socks-1))
		}
	})
	syncOrFail(b, tr)
	b.StopTimer()
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "joins+leaves/s")
	b.ReportMetric(float64(rt.n.Load()-before)/float64(2*b.N), "roundtrips/op")
}

// BenchmarkBigRoom measures reads of a room of 100k members.
func BenchmarkBigRoom(b *testing.B) {
	srv := redistest.Start(b)
	h := newCluster(srv)
	tr, _ := counted(b, h, "a")
	const n = 100_000
	start := time.Now()
	connectN(b, tr, "s", n, "big")
	syncOrFail(b, tr)
	b.Logf("100k members written in %v", time.Since(start).Round(time.Millisecond))
	r := h.reader(b)
	ctx := context.Background()
	b.Run("Counts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := r.Counts(ctx, "/", "big")
			if err != nil || c.Members != n || c.Users != 1000 {
				b.Fatalf("Counts = %+v, %v", c, err)
			}
		}
	})
	b.Run("Page100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := r.Query(ctx, presence.Query{NS: "/", Room: "big"})
			if err != nil || len(p.Members) != 100 || p.Next == "" {
				b.Fatalf("Query = %d members, next %q, %v", len(p.Members), p.Next, err)
			}
		}
	})
}

// BenchmarkReconnectStorm measures how long presence takes to be accurate
// when 10k sockets connect to one node at once (each joining two rooms), as
// seen by another client polling the counts.
func BenchmarkReconnectStorm(b *testing.B) {
	srv := redistest.Start(b)
	h := newCluster(srv)
	tr, rt := counted(b, h, "a")
	syncOrFail(b, tr)
	r := h.reader(b)
	const n = 10_000
	ctx := context.Background()
	var trips int64
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		before := rt.n.Load()
		start := time.Now()
		connectN(b, tr, fmt.Sprintf("i%d-", i), n, "room", fmt.Sprintf("room%d", i%10))
		testutil.CheckFor(b, time.Minute, time.Millisecond, func() error {
			c, err := r.Counts(ctx, "/", "room")
			if err != nil || c.Members != n {
				return fmt.Errorf("%+v, %v", c, err)
			}
			return nil
		})
		total += time.Since(start)
		b.StopTimer()
		syncOrFail(b, tr)
		trips += rt.n.Load() - before
		for j := range n {
			_ = tr.Disconnect("/", fmt.Sprintf("i%d-%d", i, j))
		}
		syncOrFail(b, tr)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-accurate")
	b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/storm")
}
