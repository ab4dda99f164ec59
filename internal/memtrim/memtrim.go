// Package memtrim gives memory back to the operating system once a burst of
// connections has settled.
//
// A connection storm (thousands of clients connecting, or a reconnect after a
// deploy) leaves behind garbage of several KiB per connection: net/http's
// buffers of every hijacked handshake, the request's parsing. The collector
// frees it, but the runtime keeps the freed pages and returns them to the
// operating system slowly or not at all while the process is idle: measured
// on an edge with 10k idle WebSockets, its RSS stayed at 140 MB for minutes
// when 80 MB were enough. Once the number of sessions has moved by a lot and
// then held still for a while, Trimmer collects and returns what is free, at
// the cost of one collection per storm.
package memtrim

import (
	"context"
	"runtime/debug"
	"time"
)

// Config tunes a Trimmer. Zero fields take the defaults.
type Config struct {
	// Count reports the number of sessions (required).
	Count func() int
	// MinChange is how far the count must have moved since the last trim
	// for a burst to be worth trimming after. Default 1000.
	MinChange int
	// Quiet is how long the count must stay within MinChange/10 before
	// the trim. Default 5 s.
	Quiet time.Duration
	// Every is how often the count is read. Default 1 s.
	Every time.Duration
	// Trim returns free memory; default debug.FreeOSMemory. Set by tests.
	Trim func()
}

func (c Config) withDefaults() Config {
	if c.MinChange <= 0 {
		c.MinChange = 1000
	}
	if c.Quiet <= 0 {
		c.Quiet = 5 * time.Second
	}
	if c.Every <= 0 {
		c.Every = time.Second
	}
	if c.Trim == nil {
		c.Trim = debug.FreeOSMemory
	}
	return c
}

// Run trims after every settled burst until ctx ends.
func Run(ctx context.Context, cfg Config) {
	cfg = cfg.withDefaults()
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	var s state
	s.trimmed = cfg.Count()
	s.settle(s.trimmed, time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if s.observe(cfg, cfg.Count(), now) {
				cfg.Trim()
			}
		}
	}
}

// state is the count at the last trim and since when the count has stayed
// near its current value.
type state struct {
	trimmed  int       // the count at the last trim
	anchor   int       // the count the quiet period is measured against
	anchorAt time.Time // when the count came to anchor
}

func (s *state) settle(n int, now time.Time) { s.anchor, s.anchorAt = n, now }

// observe takes a reading and reports whether to trim now.
func (s *state) observe(cfg Config, n int, now time.Time) bool {
	if abs(n-s.anchor) > cfg.MinChange/10 {
		s.settle(n, now) // still moving
		return false
	}
	if abs(n-s.trimmed) < cfg.MinChange || now.Sub(s.anchorAt) < cfg.Quiet {
		return false
	}
	s.trimmed = n
	return true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
