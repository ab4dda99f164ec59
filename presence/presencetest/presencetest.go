// Package presencetest is the contract test suite every presence
// implementation passes: Run it with a Factory of clusters of the
// implementation.
package presencetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/presence"
)

// Cluster is one shared presence store under test, on which nodes start.
type Cluster interface {
	// Start starts a tracker with cfg and stops it (Close, or nothing if
	// the test did) when the test ends. The tracker must have an
	// Abandon() method: stop without cleanup, as a crash would.
	Start(tb testing.TB, cfg presence.Config) presence.Tracker
}

// Factory returns a new, empty Cluster for one test.
type Factory func(tb testing.TB) Cluster

// Lease timing of the suite's nodes.
const (
	TTL       = time.Second
	Heartbeat = 200 * time.Millisecond
)

// Module is the module path whose goroutines must not outlive a test.
const Module = "github.com/switchboard-rt/switchboard"

// Abandoner is a tracker that can stop as if it crashed.
type Abandoner interface{ Abandon() }

// Run runs the contract suite.
func Run(t *testing.T, f Factory) {
	for _, c := range []struct {
		name string
		fn   func(*env)
	}{
		{"CountsAcrossNodes", testCountsAcrossNodes},
		{"Paging", testPaging},
		{"BadQueries", testBadQueries},
		{"BadWrites", testBadWrites},
		{"UserPresence", testUserPresence},
		{"JoinLeaveEvents", testJoinLeaveEvents},
		{"SocketRoomsAndData", testSocketRoomsAndData},
		{"Takeover", testTakeover},
		{"CrashedNode", testCrashedNode},
		{"RestartSameID", testRestartSameID},
		{"GracefulClose", testGracefulClose},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Cleanup(func() { testutil.NoLeaks(t, Module) }) // runs last
			c.fn(&env{T: t, c: f(t), rec: &Recorder{}})
		})
	}
}

// env is one test's cluster and event recorder.
type env struct {
	*testing.T
	c   Cluster
	rec *Recorder
}

// node starts a node whose events go to the recorder.
func (e *env) node(id string) presence.Tracker {
	e.Helper()
	return e.c.Start(e, presence.Config{NodeID: id, TTL: TTL, Heartbeat: Heartbeat, OnEvent: e.rec.Hook(id)})
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	e.Cleanup(cancel)
	return ctx
}

// sync waits for the nodes' writes.
func (e *env) sync(nodes ...presence.Tracker) {
	e.Helper()
	for _, n := range nodes {
		if err := n.Sync(e.ctx()); err != nil {
			e.Fatalf("Sync: %v", err)
		}
	}
}

func (e *env) must(err error) {
	e.Helper()
	if err != nil {
		e.Fatal(err)
	}
}

// connect connects sockets sid with user (no data) and puts them in rooms.
func (e *env) connect(n presence.Tracker, ns, user string, sids []string, rooms ...string) {
	e.Helper()
	for _, sid := range sids {
		e.must(n.Connect(ns, presence.Member{SID: sid, User: user}))
		if len(rooms) > 0 {
			e.must(n.Join(ns, sid, rooms...))
		}
	}
}

func (e *env) counts(r presence.Reader, ns, room string) presence.Counts {
	e.Helper()
	c, err := r.Counts(e.ctx(), ns, room)
	if err != nil {
		e.Fatalf("Counts(%q, %q): %v", ns, room, err)
	}
	return c
}

func (e *env) wantCounts(r presence.Reader, ns, room string, members, users int64) {
	e.Helper()
	want := presence.Counts{Members: members, Users: users}
	if got := e.counts(r, ns, room); got != want {
		e.Fatalf("Counts(%q, %q) = %+v, want %+v", ns, room, got, want)
	}
}

// all pages through q and returns the members by sid, failing on a page
// over the limit; a member seen twice (allowed by the contract) is kept once.
func (e *env) all(r presence.Reader, q presence.Query) (map[string]presence.Member, presence.Page) {
	e.Helper()
	out := make(map[string]presence.Member)
	var first presence.Page
	for i := 0; ; i++ {
		p, err := r.Query(e.ctx(), q)
		if err != nil {
			e.Fatalf("Query(%+v): %v", q, err)
		}
		if i == 0 {
			first = p
		}
		limit := q.Limit
		if limit == 0 {
			limit = presence.DefaultLimit
		}
		if len(p.Members) > limit {
			e.Fatalf("page of %d members over limit %d", len(p.Members), limit)
		}
		for _, m := range p.Members {
			out[m.SID] = m
		}
		if p.Next == "" {
			return out, first
		}
		if i > 10000 {
			e.Fatal("paging does not end")
		}
		q.Cursor = p.Next
	}
}

// sids returns "<prefix>0" … "<prefix>n-1".
func sids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func keys(m map[string]presence.Member) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Recorded is an event and the node that emitted it.
type Recorded struct {
	By string
	presence.Event
}

// Recorder collects the events of several nodes.
type Recorder struct {
	mu  sync.Mutex
	evs []Recorded
}

// Hook returns an OnEvent that records node's events.
func (r *Recorder) Hook(node string) func(presence.Event) {
	return func(ev presence.Event) {
		r.mu.Lock()
		r.evs = append(r.evs, Recorded{By: node, Event: ev})
		r.mu.Unlock()
	}
}

// Find returns the recorded events that match. It filters outside the
// lock, so as not to hold up the trackers' OnEvent.
func (r *Recorder) Find(match func(Recorded) bool) []Recorded {
	r.mu.Lock()
	evs := r.evs[:len(r.evs):len(r.evs)] // appends never touch this prefix
	r.mu.Unlock()
	var out []Recorded
	for _, ev := range evs {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// Len returns the number of recorded events.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evs)
}

// Is matches events by action, namespace, room and socket ("" matches any
// room or socket).
func Is(a presence.Action, ns, room, sid string) func(Recorded) bool {
	return func(ev Recorded) bool {
		return ev.Action == a && ev.NS == ns && (room == "" || ev.Room == room) && (sid == "" || ev.SID == sid)
	}
}

// Consistently fails tb if fn returns an error at any poll during d.
func Consistently(tb testing.TB, d, interval time.Duration, fn func() error) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		if err := fn(); err != nil {
			tb.Fatal(err)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(interval)
	}
}

// exactly returns an error unless n events match.
func (e *env) exactly(n int, match func(Recorded) bool, what string) error {
	if got := e.rec.Find(match); len(got) != n {
		return fmt.Errorf("%d %s events, want %d: %+v", len(got), what, n, got)
	}
	return nil
}

func wantErr(tb testing.TB, err, target error, what string) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func equal(a, b []string) bool { return slices.Equal(a, b) }
