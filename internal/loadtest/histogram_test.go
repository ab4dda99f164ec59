package loadtest

import (
	"math"
	"sync"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<22; v += 1 + v/50 {
		i := bucketOf(v)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d < previous %d", v, i, prev)
		}
		prev = i
		lo := bucketLow(i)
		if lo > v {
			t.Fatalf("bucketLow(%d) = %d > %d", i, lo, v)
		}
		if next := bucketLow(i + 1); next <= v {
			t.Fatalf("bucketLow(%d) = %d <= %d, want the next bucket above it", i+1, next, v)
		}
		if mid := bucketMid(i); math.Abs(float64(mid-v)) > float64(v)/subCount+1 {
			t.Fatalf("bucketMid(%d) = %d too far from %d", i, mid, v)
		}
	}
	if got := bucketOf(math.MaxInt64); got != numBucket-1 {
		t.Fatalf("bucketOf(max) = %d, want clamp to %d", got, numBucket-1)
	}
	if got := bucketOf(-5); got != 0 {
		t.Fatalf("bucketOf(-5) = %d, want 0", got)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	if s := h.Summary(); s != (Latency{}) {
		t.Fatalf("empty summary = %+v", s)
	}
	// 1..10000 µs, recorded from several goroutines.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for v := 1 + g; v <= 10000; v += 4 {
				h.Record(time.Duration(v) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	s := h.Summary()
	if s.Count != 10000 {
		t.Fatalf("count = %d", s.Count)
	}
	if s.Max != 10*time.Millisecond {
		t.Fatalf("max = %v, want exact 10ms", s.Max)
	}
	if want := 5000500 * time.Nanosecond; s.Mean != want {
		t.Fatalf("mean = %v, want %v", s.Mean, want)
	}
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{
		{"p50", s.P50, 5000 * time.Microsecond},
		{"p90", s.P90, 9000 * time.Microsecond},
		{"p99", s.P99, 9900 * time.Microsecond},
		{"p99.9", s.P999, 9990 * time.Microsecond},
	} {
		if rel := math.Abs(float64(c.got-c.want)) / float64(c.want); rel > 1.0/subCount {
			t.Errorf("%s = %v, want %v ±%.1f%%", c.name, c.got, c.want, 100.0/subCount)
		}
	}
	if q := h.Quantile(1); q != s.Max {
		t.Errorf("Quantile(1) = %v, want max %v", q, s.Max)
	}
	if q := h.Quantile(0); q > 2*time.Microsecond {
		t.Errorf("Quantile(0) = %v, want about the minimum 1µs", q)
	}
}

func TestHistogramSmallAndNegative(t *testing.T) {
	var h histogram
	h.Record(-time.Second) // clock skew: counted as zero
	h.Record(3)
	h.Record(3)
	h.Record(40)
	s := h.Summary()
	if s.P50 != 3 || s.Max != 40 || h.Quantile(0.25) != 0 {
		t.Fatalf("summary = %+v, q25 = %v", s, h.Quantile(0.25))
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i%5_000_000) * 100)
	}
}
