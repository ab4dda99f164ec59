package itest

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRedisInterop: a Node.js socket.io server with @socket.io/redis-adapter
// 8.3 and @socket.io/redis-emitter 5.1 share one cluster with three
// Switchboard edges (itest/js/interop/cluster.mjs prints one line a check).
func TestRedisInterop(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: .ci/run installs Node.js and the itest/js packages")
	}
	e := newEnv(t, "redis", 3)
	args := []string{"interop/cluster.mjs", "--redis", e.redis.URL()}
	for _, p := range e.edges {
		args = append(args, "--edge", p.url())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = "js"
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("interop checks failed: %v", err)
	}
	if !strings.Contains(string(out), "ALL PASSED") || strings.Count(string(out), "PASS ") < 7 {
		t.Fatalf("interop checks incomplete")
	}
}
