package memtrim

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestObserve(t *testing.T) {
	cfg := Config{MinChange: 1000, Quiet: 5 * time.Second}.withDefaults()
	t0 := time.Unix(0, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var s state
	s.settle(0, at(0))
	steps := []struct {
		sec, count int
		trim       bool
	}{
		{1, 0, false},      // nothing happened
		{2, 3000, false},   // a storm...
		{3, 9000, false},   // ...still growing
		{4, 10000, false},  // settling
		{8, 10050, false},  // within MinChange/10 of 10000, but only 4 s quiet
		{9, 10020, true},   // 5 s quiet after a move of 10000: trim
		{20, 10020, false}, // once
		{21, 10500, false}, // a small move: not worth a trim
		{40, 10500, false},
		{41, 9000, false}, // a burst of disconnects...
		{50, 9000, true},  // ...settled: trim
		{51, 9000, false},
	}
	for _, st := range steps {
		if got := s.observe(cfg, st.count, at(st.sec)); got != st.trim {
			t.Fatalf("at %ds count %d: trim %v, want %v", st.sec, st.count, got, st.trim)
		}
	}
}

func TestRun(t *testing.T) {
	var count, trims atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Config{
			Count: func() int { return int(count.Load()) }, MinChange: 100,
			Quiet: 20 * time.Millisecond, Every: 5 * time.Millisecond,
			Trim: func() { trims.Add(1) },
		})
	}()
	time.Sleep(50 * time.Millisecond)
	if trims.Load() != 0 {
		t.Fatal("trimmed without a burst")
	}
	count.Store(500)
	deadline := time.Now().Add(5 * time.Second)
	for trims.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := trims.Load(); n != 1 {
		t.Fatalf("%d trims after one settled burst, want 1", n)
	}
	cancel()
	<-done
}
