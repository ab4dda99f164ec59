package loadtest

import (
	"context"
	"errors"
	"time"
)

// Idle opens cfg.Clients clients, keeps them connected and idle (answering
// pings) for cfg.Settle, then samples the server's RSS and reports its growth
// per connection, with the client-side connect times. It returns an error if
// the configuration is bad, /proc cannot be read for ServerPIDs, no client
// connects, or ctx ends first.
func Idle(ctx context.Context, cfg IdleConfig) (IdleReport, error) {
	rc, err := cfg.Config.resolve()
	if err != nil {
		return IdleReport{}, err
	}
	settle := orDefault(cfg.Settle, defaultSettle)
	if err := checkOpenFiles(rc.Clients); err != nil {
		return IdleReport{}, err
	}
	before, err := sampleProcs(rc.ServerPIDs)
	if err != nil {
		return IdleReport{}, err
	}
	self0 := sampleSelf()

	f := newFleet(rc)
	defer f.close()
	cancelWatch := f.closeOnDone(ctx)
	defer cancelWatch()

	t0 := time.Now()
	got, err := f.connect(ctx, 0, rc.Clients, nil, nopHandler{})
	wall := time.Since(t0)
	r := IdleReport{
		Clients:     rc.Clients,
		Connected:   len(got),
		Failed:      int(f.failed.Load()),
		ConnectWall: wall,
		Connect:     f.connectLat.Summary(),
	}
	if wall > 0 {
		r.ConnectRate = float64(len(got)) / wall.Seconds()
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
	r.Settle = settle
	if len(rc.ServerPIDs) > 0 {
		r.ServerRSSBefore, r.ServerRSSAfter = before.rss, after.rss
		r.ServerRSSPerConn = (float64(after.rss) - float64(before.rss)) / float64(len(got))
	}
	r.ClientRSSPerConn = (float64(self1.rss) - float64(self0.rss)) / float64(len(got))
	return r, nil
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
