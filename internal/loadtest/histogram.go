package loadtest

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Log-linear histogram of durations in nanoseconds: values below 2·subCount
// are exact, larger ones fall in one of subCount buckets per power of two, so
// a reported quantile is within 1/subCount (about 3%) of the true value.
const (
	subBits   = 5
	subCount  = 1 << subBits
	maxExp    = 42 // 2^42 ns is about 73 minutes; larger values are clamped
	numBucket = (maxExp + 2) * subCount
)

// histogram is safe for concurrent use: Record is a few atomic adds and does
// not allocate.
type histogram struct {
	counts [numBucket]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Int64
}

func bucketOf(v int64) int {
	if v < 2*subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits - 1
	if e > maxExp {
		return numBucket - 1
	}
	return e*subCount + int(v>>uint(e))
}

// bucketLow returns the smallest value that falls in bucket i.
func bucketLow(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	e := i/subCount - 1
	return int64(subCount+i%subCount) << uint(e)
}

// bucketMid returns a representative value for bucket i (its midpoint).
func bucketMid(i int) int64 {
	lo := bucketLow(i)
	if i < 2*subCount {
		return lo
	}
	width := int64(1) << uint(i/subCount-1)
	return lo + (width-1)/2
}

// Record adds one observation.
func (h *histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(uint64(v))
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Quantile returns the value at quantile q (0..1): the smallest bucket whose
// cumulative count reaches ceil(q·n), reported at the bucket midpoint and
// never above the exact maximum.
func (h *histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			v := bucketMid(i)
			if m := h.max.Load(); v > m {
				v = m
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max.Load())
}

// Latency summarises a distribution of durations.
type Latency struct {
	Count uint64        `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Summary returns the distribution's summary.
func (h *histogram) Summary() Latency {
	n := h.n.Load()
	if n == 0 {
		return Latency{}
	}
	return Latency{
		Count: n,
		Mean:  time.Duration(h.sum.Load() / n),
		P50:   h.Quantile(0.50),
		P90:   h.Quantile(0.90),
		P99:   h.Quantile(0.99),
		P999:  h.Quantile(0.999),
		Max:   time.Duration(h.max.Load()),
	}
}
