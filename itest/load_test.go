package itest

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/loadtest"
)

// TestClusterLoadSmoke runs the load tool's broadcast scenario across three
// edges, triggered from outside by a service command (P.cmd.emit on NATS),
// for each adapter: every message reaches every client, in order.
func TestClusterLoadSmoke(t *testing.T) {
	for _, adapter := range clusterAdapters {
		t.Run(adapter, func(t *testing.T) {
			e := newEnv(t, adapter, 3)
			urls := make([]string, len(e.edges))
			for i, p := range e.edges {
				urls[i] = p.url()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			r, err := loadtest.Broadcast(ctx, loadtest.BroadcastConfig{
				Config:      loadtest.Config{URLs: urls, Clients: 60},
				Rate:        200,
				Warmup:      200 * time.Millisecond,
				Duration:    time.Second,
				TriggerNATS: e.nats,
			})
			if err != nil {
				t.Fatalf("broadcast: %v\n%v", err, r)
			}
			// Successive commands are handled by whichever edge the queue group
			// picks, so they may overtake each other: order is not checked.
			if r.Joined != 60 || r.Delivered == 0 || r.Lost != 0 || r.Malformed != 0 {
				t.Fatalf("report: %+v", r)
			}
			// 200/s to 60 clients for 1s: about 12k deliveries.
			if r.Delivered < 6000 {
				t.Fatalf("delivered only %d messages", r.Delivered)
			}
		})
	}
}
