package redis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/bus"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL != DefaultURL || cfg.Key != "socket.io" || !strings.HasPrefix(cfg.NodeID, "sb-") || len(cfg.NodeID) != 13 ||
		cfg.RequestTimeout != 5*time.Second || cfg.MaxMessageBytes != 16<<20 || cfg.MaxQueueBytes != 64<<20 ||
		cfg.HeartbeatInterval != 2*time.Second || cfg.NodeTTL != 6*time.Second || cfg.Logger == nil || cfg.Metrics == nil {
		t.Errorf("defaults: %+v", cfg)
	}
	if other, _ := (Config{}).withDefaults(); other.NodeID == cfg.NodeID {
		t.Error("two generated node ids are equal")
	}
	if cfg, _ := (Config{MaxMessageBytes: -1}).withDefaults(); cfg.MaxMessageBytes <= 1<<40 {
		t.Errorf("negative MaxMessageBytes: %d, want no limit", cfg.MaxMessageBytes)
	}
}

// rediss:// turns TLS on, as go-redis ParseURL does; the client built has context deadlines on.
func TestOpenClientURL(t *testing.T) {
	cfg := Config{URL: "rediss://user:pw@example.com:6380/2"}
	c, owned, err := openClient(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.(*goredis.Client).Options()
	if !owned || o.TLSConfig == nil || o.TLSConfig.ServerName != "example.com" || o.Username != "user" || o.Password != "pw" ||
		o.DB != 2 || o.Addr != "example.com:6380" || !o.ContextTimeoutEnabled {
		t.Errorf("options from a rediss URL: %+v", o)
	}
	given := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer given.Close()
	cfg = Config{Client: given}
	if c, owned, _ := openClient(&cfg); c != given || owned {
		t.Error("a given client is not used as is")
	}
}

// A password in the URL authenticates, as go-redis does.
func TestURLPassword(t *testing.T) {
	c := newCluster(t)
	if out, err := c.srv.Do("CONFIG", "SET", "requirepass", "s3cret"); err != nil || out != "+OK" {
		t.Fatalf("CONFIG SET: %q %v", out, err)
	}
	ctx := ctxT(t, 10*time.Second)
	cfg := c.config("A")
	if _, err := New(ctx, cfg); !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("New without the password: %v", err)
	}
	cfg.URL = "redis://:s3cret@" + c.srv.Addr()
	a := c.nodeWith(cfg)
	if err := a.Ready(); err != nil {
		t.Fatal(err)
	}
	// A given client is used and left open.
	given := goredis.NewClient(&goredis.Options{Addr: c.srv.Addr(), Password: "s3cret"})
	defer given.Close()
	cfg = c.config("B")
	cfg.Client = given
	b := c.nodeWith(cfg)
	ns := attach(t, b, "/", newLocal())
	attach(t, a, "/", newLocal())
	if _, res, err := ns.AllRooms(ctx); err != nil || res.Answered != 1 {
		t.Errorf("AllRooms: %+v %v", res, err)
	}
	_ = b.Close()
	if err := given.Ping(context.Background()).Err(); err != nil {
		t.Errorf("the given client was closed: %v", err)
	}
}
