package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/presence"
	"github.com/switchboard-rt/switchboard/presence/memory"
	"github.com/switchboard-rt/switchboard/presence/presencetest"
)

type cluster struct{ c *memory.Cluster }

func (h cluster) Start(tb testing.TB, cfg presence.Config) presence.Tracker {
	tb.Helper()
	t, err := h.c.Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = t.Close(ctx)
	})
	return t
}

func TestContract(t *testing.T) {
	presencetest.Run(t, func(testing.TB) presencetest.Cluster { return cluster{memory.NewCluster()} })
}
