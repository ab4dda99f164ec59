package loadtest

import (
	"context"
	"errors"
	"time"
)

// Idle opens cfg.Clients clients, keeps them connected and idle (answering
// pings) for cfg.Settle, then samples the server's RSS and reports its growth
// per connection, with the client-side connect times. The first cfg.Warm
// clients connect before the baseline sample. It returns an error if the
// configuration is bad, /proc cannot be read for ServerPIDs, no client
// connects, or ctx ends first.
func Idle(ctx context.Context, cfg IdleConfig) (IdleReport, error) {
	rc, err := cfg.Config.resolve()
	if err != nil {
		return IdleReport{}, err
	}
	settle := orDefault(cfg.Settle, defaultSettle)
	warm := cfg.Warm
	switch {
	case warm == 0:
		warm = rc.Clients / 10
	case warm < 0:
		warm = 0
	}
	warm = min(warm, rc.Clients-1)
	if err := checkOpenFiles(rc.Clients); err != nil {
		return IdleReport{}, err
	}
	before, err := sampleProcs(rc.ServerPIDs)
	if err != nil {
		return IdleReport{}, err
	}
	self0 := sampleSelf()

	f := newFleet(rc, idleReadBufferSize)
	defer f.close()
	cancelWatch := f.closeOnDone(ctx)
	defer cancelWatch()

	r := IdleReport{Clients: rc.Clients, Warm: warm, Settle: settle}
	base, selfBase := before, self0
	var warmed []*client
	if warm > 0 {
		t0 := time.Now()
		warmed, err = f.connect(ctx, 0, warm, nil, nopHandler{})
		r.ConnectWall = time.Since(t0)
		if err != nil {
			return r, err
		}
		if err := sleepCtx(ctx, min(settle, 2*time.Second)); err != nil {
			return r, err
		}
		if base, err = sampleProcs(rc.ServerPIDs); err != nil {
			return r, err
		}
		selfBase = sampleSelf()
	}
	t0 := time.Now()
	got, err := f.connect(ctx, warm, rc.Clients-warm, nil, nopHandler{})
	r.ConnectWall += time.Since(t0)
	r.Connected = len(warmed) + len(got)
	r.Failed = int(f.failed.Load())
	r.Connect = f.connectLat.Summary()
	if r.ConnectWall > 0 {
		r.ConnectRate = float64(r.Connected) / r.ConnectWall.Seconds()
	}
	if err != nil {
		return r, err
	}
	if len(got) == 0 {
		return r, errors.New("loadtest: no client connected: " + f.errString())
	}
	if err := sleepCtx(ctx, settle); err != nil {
		return r, err
	}
	after, err := sampleProcs(rc.ServerPIDs)
	if err != nil {
		return r, err
	}
	self1 := sampleSelf()
	r.Dropped = int(f.dropped.Load())
	r.FirstError = f.errString()
	if len(rc.ServerPIDs) > 0 {
		r.ServerRSSStart, r.ServerRSSBase, r.ServerRSSAfter = before.rss, base.rss, after.rss
		r.ServerRSSPerConn = perConn(after.rss, base.rss, len(got))
		r.ServerRSSPerConnAll = perConn(after.rss, before.rss, r.Connected)
	}
	r.ClientRSSPerConn = perConn(self1.rss, selfBase.rss, len(got))
	return r, nil
}

func perConn(after, before uint64, n int) float64 {
	return (float64(after) - float64(before)) / float64(n)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
