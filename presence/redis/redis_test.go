package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/internal/testutil/redistest"
	"github.com/switchboard-rt/switchboard/presence"
	"github.com/switchboard-rt/switchboard/presence/presencetest"
	presenceredis "github.com/switchboard-rt/switchboard/presence/redis"
)

var prefixes atomic.Int64

// cluster starts trackers on one redis-server under a key prefix of its own.
type cluster struct {
	srv    *redistest.Server
	prefix string
}

func newCluster(srv *redistest.Server) cluster {
	return cluster{srv: srv, prefix: fmt.Sprintf("test%d:presence", prefixes.Add(1))}
}

// client returns a client of the server, closed when the test ends.
func (h cluster) client(tb testing.TB) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{
		Addr: h.srv.Addr(), ContextTimeoutEnabled: true,
		DialTimeout: time.Second, MaxRetries: -1,
	})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func (h cluster) Start(tb testing.TB, cfg presence.Config) presence.Tracker {
	return h.start(tb, cfg, h.client(tb))
}

func (h cluster) start(tb testing.TB, cfg presence.Config, c goredis.UniversalClient) *presenceredis.Tracker {
	tb.Helper()
	t, err := presenceredis.New(presenceredis.Config{Config: cfg, Client: c, KeyPrefix: h.prefix})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = t.Close(ctx)
	})
	return t
}

func (h cluster) reader(tb testing.TB) *presenceredis.Reader {
	return presenceredis.NewReader(h.client(tb), h.prefix)
}

func TestContract(t *testing.T) {
	srv := redistest.Start(t)
	presencetest.Run(t, func(testing.TB) presencetest.Cluster { return newCluster(srv) })
}
