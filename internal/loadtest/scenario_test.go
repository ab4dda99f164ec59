package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestIdle(t *testing.T) {
	noLeaks(t)
	s := newFake(t)
	r, err := Idle(testCtx(t), IdleConfig{Config: testConfig(s, 20), Settle: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Connected != 20 || r.Failed != 0 || r.Dropped != 0 || r.Connect.Count != 20 {
		t.Fatalf("report: %+v", r)
	}
	// The fake pings every client once after its namespace connect.
	checkFor(t, 2*time.Second, 5*time.Millisecond, func() error {
		if n := s.pongs.Load(); n != 20 {
			return fmt.Errorf("%d pongs, want 20", n)
		}
		return nil
	})
	if runtime.GOOS == "linux" && r.ServerRSSAfter == 0 {
		t.Errorf("no RSS sample: %+v", r)
	}
	if !strings.Contains(r.String(), "connected        20 (0 failed, 0 dropped)") {
		t.Errorf("String():\n%s", r)
	}
}

func TestIdleConnectError(t *testing.T) {
	noLeaks(t)
	s := newFake(t)
	cfg := testConfig(s, 3)
	cfg.Namespace = "/nope"
	r, err := Idle(testCtx(t), IdleConfig{Config: cfg, Settle: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "Invalid namespace") || r.Failed != 3 {
		t.Fatalf("err = %v, report %+v", err, r)
	}
}

func TestIdleCanceled(t *testing.T) {
	noLeaks(t)
	s := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Idle(ctx, IdleConfig{Config: testConfig(s, 5), Settle: time.Minute})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestBroadcast(t *testing.T) {
	for _, tc := range []struct {
		name string
		nsp  string
		rate int
	}{
		{"max rate", "/", 0},
		{"paced in namespace", "/chat", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			s := newFake(t)
			cfg := testConfig(s, 10)
			cfg.Namespace = tc.nsp
			r, err := Broadcast(testCtx(t), BroadcastConfig{
				Config: cfg, Rate: tc.rate, Window: 4,
				Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond, Drain: 2 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.Joined != 10 || r.Failed != 0 || r.Dropped != 0 || r.Lost != 0 || r.OutOfOrder != 0 || r.Malformed != 0 {
				t.Fatalf("report: %+v", r)
			}
			if r.Broadcasts == 0 || r.Delivered == 0 || r.Latency.Count == 0 || r.Latency.Max <= 0 {
				t.Fatalf("nothing measured: %+v", r)
			}
			if tc.rate > 0 && (r.BroadcastRate < 0.7*float64(tc.rate) || r.BroadcastRate > 1.3*float64(tc.rate)) {
				t.Errorf("paced at %d/s, got %.1f/s", tc.rate, r.BroadcastRate)
			}
			// A max-rate run keeps the process busy for longer than the
			// kernel's CPU accounting tick; a paced one may stay under it.
			if runtime.GOOS == "linux" && tc.rate == 0 && r.ServerCPU == 0 && r.ClientCores == 0 {
				t.Errorf("no CPU sample: %+v", r)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.String(), "lost") {
				t.Errorf("String():\n%s", r)
			}
		})
	}
}

func TestBroadcastTriggerLost(t *testing.T) {
	noLeaks(t)
	s := newFake(t)
	s.dropSender.Store(true)
	start := time.Now()
	_, err := Broadcast(testCtx(t), BroadcastConfig{
		Config: testConfig(s, 3), Warmup: -1, Duration: time.Minute,
	})
	if !errors.Is(err, errTriggerLost) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v, want errTriggerLost at once", err, time.Since(start))
	}
}

func TestAck(t *testing.T) {
	noLeaks(t)
	s := newFake(t)
	r, err := Ack(testCtx(t), AckConfig{
		Config: testConfig(s, 5), InFlight: 3,
		Warmup: -1, Duration: 200 * time.Millisecond, Drain: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Connected != 5 || r.Acks == 0 || r.Lost != 0 || r.Malformed != 0 || r.WriteErrors != 0 || r.Latency.Count == 0 {
		t.Fatalf("report: %+v", r)
	}
	var back map[string]any
	b, _ := json.Marshal(r)
	if err := json.Unmarshal(b, &back); err != nil || back["acks_per_sec"] == nil || back["latency"] == nil {
		t.Fatalf("JSON %s: %v", b, err)
	}
}

func TestSourceAddrs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("127.0.0.2 is only routable by default on Linux")
	}
	noLeaks(t)
	s := newFake(t)
	cfg := testConfig(s, 6)
	cfg.LocalAddrs = LoopbackAddrs(3)
	if _, err := Idle(testCtx(t), IdleConfig{Config: cfg, Settle: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	got := s.remoteCounts()
	for _, ip := range cfg.LocalAddrs {
		if got[ip] != 2 {
			t.Fatalf("connections by source: %v, want 2 from each of %v", got, cfg.LocalAddrs)
		}
	}
}

func TestMultipleURLs(t *testing.T) {
	noLeaks(t)
	a, b := newFake(t), newFake(t)
	cfg := testConfig(a, 8)
	cfg.URLs = []string{a.URL, b.URL}
	if _, err := Idle(testCtx(t), IdleConfig{Config: cfg, Settle: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	sum := func(s *fakeServer) (n int) {
		for _, v := range s.remoteCounts() {
			n += v
		}
		return n
	}
	if sum(a) != 4 || sum(b) != 4 {
		t.Fatalf("connections per server: %d, %d; want 4, 4", sum(a), sum(b))
	}
}

func TestOpenFileLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	_, err := Idle(testCtx(t), IdleConfig{Config: Config{Clients: 10_000_000}})
	if !errors.Is(err, errConfig) {
		t.Fatalf("err = %v, want the open-file limit error", err)
	}
}

// ExampleBroadcast runs a short broadcast against an in-process server that
// implements the benchmark contract.
func ExampleBroadcast() {
	srv, stop := startFake()
	defer stop()
	r, err := Broadcast(context.Background(), BroadcastConfig{
		Config: Config{URLs: []string{srv.URL}, Clients: 10},
		Rate:   100, Warmup: -1, Duration: 200 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("joined %d, lost %d, latency measured: %v\n", r.Joined, r.Lost, r.Latency.Count > 0)
	// Output: joined 10, lost 0, latency measured: true
}

// ExampleAck keeps 2 echo emits in flight per client for a moment.
func ExampleAck() {
	srv, stop := startFake()
	defer stop()
	r, err := Ack(context.Background(), AckConfig{
		Config:   Config{URLs: []string{srv.URL}, Clients: 4},
		InFlight: 2, Warmup: -1, Duration: 100 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("connected %d, acked: %v, lost %d\n", r.Connected, r.Acks > 0, r.Lost)
	// Output: connected 4, acked: true, lost 0
}
