package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clusterEnvBase is the test's environment without any setting of
// scripts/cluster.sh, so that only the test's own settings count.
func clusterEnvBase() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "SWITCHBOARD_CLUSTER_")
	})
}

// clusterScript runs scripts/cluster.sh with env; it returns the output
// (stdout and stderr) and the exit status.
func clusterScript(t *testing.T, env []string, timeout time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(repoRoot(), "scripts/cluster.sh")}, args...)...)
	cmd.Env = append(clusterEnvBase(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Errorf("cluster.sh %s: not done in %v:\n%s", strings.Join(args, " "), timeout, out.String())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("cluster.sh %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// clusterPorts are the settings of one test cluster, on free ports.
type clusterPorts struct {
	dir                                   string
	lb, monitor, edge, admin, nats, redis int
}

func newClusterPorts(t *testing.T, edges int) clusterPorts {
	t.Helper()
	c := clusterPorts{dir: filepath.Join(t.TempDir(), "cluster")}
	// One range: lb, monitor, nats, redis, the edges, their admin ports.
	base := freeRange(t, 4+2*edges)
	c.lb, c.monitor, c.nats, c.redis = base, base+1, base+2, base+3
	c.edge, c.admin = base+4, base+4+edges
	return c
}

func (c clusterPorts) env() []string {
	return []string{
		"SWITCHBOARD_CLUSTER_DIR=" + c.dir,
		"SWITCHBOARD_CLUSTER_LB_PORT=" + strconv.Itoa(c.lb),
		"SWITCHBOARD_CLUSTER_MONITOR_PORT=" + strconv.Itoa(c.monitor),
		"SWITCHBOARD_CLUSTER_EDGE_PORT=" + strconv.Itoa(c.edge),
		"SWITCHBOARD_CLUSTER_ADMIN_PORT=" + strconv.Itoa(c.admin),
		"SWITCHBOARD_CLUSTER_NATS_PORT=" + strconv.Itoa(c.nats),
		"SWITCHBOARD_CLUSTER_REDIS_PORT=" + strconv.Itoa(c.redis),
		"SWITCHBOARD_CLUSTER_TIMEOUT=30",
	}
}

// recordedProc is a process as cluster.sh recorded it.
type recordedProc struct {
	name  string
	pid   int
	start string
}

// recorded reads the pid files of the cluster.
func (c clusterPorts) recorded(t *testing.T) []recordedProc {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(c.dir, "run", "*.pid"))
	var ps []recordedProc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fs := strings.Fields(string(b))
		if len(fs) != 2 {
			t.Errorf("%s: %q", f, b)
			continue
		}
		pid, _ := strconv.Atoi(fs[0])
		ps = append(ps, recordedProc{name: strings.TrimSuffix(filepath.Base(f), ".pid"), pid: pid, start: fs[1]})
	}
	return ps
}

// alive reports whether the very process p still runs (same pid, same
// start time, not a zombie).
func (p recordedProc) alive() bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return false
	}
	s := string(b)
	fs := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fs) > 19 && fs[0] != "Z" && fs[19] == p.start
}

// A cluster of three edges from scripts/cluster.sh: up, status, the real
// socket.io-client through HAProxy and on each edge, a broadcast across
// edges, an edge dying, then down leaves no process behind.
func TestClusterScript(t *testing.T) {
	need(t, "redis-server", "apt-get install -y redis-server")
	needHAProxy(t)
	node := needSocketIOClient(t)
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	const n = 3
	c := newClusterPorts(t, n)
	env := c.env()

	var procs []recordedProc
	t.Cleanup(func() {
		// Whatever happened: down, then nothing of the cluster may remain.
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(c.dir, "logs", "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", filepath.Base(l), tail(string(b), 25))
			}
		}
		procs = append(procs, c.recorded(t)...)
		clusterScript(t, env, 90*time.Second, "down")
		for _, p := range procs {
			if p.alive() {
				t.Errorf("%s (pid %d) still runs after down; killing it", p.name, p.pid)
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
		}
	})

	out, code := clusterScript(t, env, 5*time.Minute, "up", strconv.Itoa(n))
	t.Logf("cluster.sh up %d:\n%s", n, out)
	if code != 0 {
		t.Fatalf("cluster.sh up: exit %d", code)
	}
	procs = c.recorded(t)
	var names []string
	for _, p := range procs {
		names = append(names, p.name)
		if !p.alive() {
			t.Errorf("%s (pid %d) is not running", p.name, p.pid)
		}
	}
	slices.Sort(names)
	if want := []string{"chat", "edge1", "edge2", "edge3", "haproxy", "nats", "redis"}; !slices.Equal(names, want) {
		t.Fatalf("processes %q, want %q", names, want)
	}
	lb := fmt.Sprintf("http://127.0.0.1:%d", c.lb)
	if !strings.Contains(out, lb+"/socket.io/") {
		t.Errorf("up does not print the load balancer's URL %s", lb)
	}

	// Running up again changes nothing.
	if out, code := clusterScript(t, env, time.Minute, "up", strconv.Itoa(n)); code != 0 || !strings.Contains(out, "already running") {
		t.Errorf("second up: exit %d:\n%s", code, out)
	}
	if got := c.recorded(t); !slices.Equal(got, procs) {
		t.Errorf("second up changed the processes: %v, then %v", procs, got)
	}

	out, code = clusterScript(t, env, time.Minute, "status")
	if code != 0 || strings.Count(out, " alive ") != 7 || strings.Count(out, "ready") < n {
		t.Errorf("status: exit %d:\n%s", code, out)
	}

	monitor := fmt.Sprintf("127.0.0.1:%d", c.monitor)
	var edgeURLs []string
	for i := 0; i < n; i++ {
		edgeURLs = append(edgeURLs, fmt.Sprintf("http://127.0.0.1:%d", c.edge+i))
		if err := wantStatus(fmt.Sprintf("http://127.0.0.1:%d/readyz", c.admin+i), 200); err != nil {
			t.Error(err)
		}
	}
	for _, r := range runClusterCheck(t, node, "--lb", lb, "--edges", strings.Join(edgeURLs, ",")) {
		if !r.OK {
			t.Errorf("%s: %s%s", r.Check, r.Error, adapterHint(r.Check))
		}
	}
	stats, err := haproxyStats(monitor)
	if err != nil {
		t.Fatal(err)
	}
	if up := serversUp(stats); !slices.Equal(up, []string{"edge1", "edge2", "edge3"}) {
		t.Errorf("HAProxy: servers UP %q", up)
	}
	for _, name := range []string{"edge1", "edge2", "edge3"} {
		if s, _ := strconv.Atoi(stats[name]["stot"]); s == 0 {
			t.Errorf("round robin: %s got no session through HAProxy", name)
		}
	}

	// An edge dies: HAProxy takes it out, clients still get through, status
	// tells, and up refuses to start over a broken cluster.
	var edge2 recordedProc
	for _, p := range procs {
		if p.name == "edge2" {
			edge2 = p
		}
	}
	if err := syscall.Kill(edge2.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 15*time.Second, nil, func() error {
		stats, err := haproxyStats(monitor)
		if err != nil {
			return err
		}
		if up := serversUp(stats); !slices.Equal(up, []string{"edge1", "edge3"}) {
			return fmt.Errorf("servers UP %q", up)
		}
		return nil
	})
	for _, r := range runClusterCheck(t, node, "--lb", lb, "--only", "lb-polling,lb-websocket,lb-upgrade") {
		if !r.OK {
			t.Errorf("with edge2 dead, %s: %s", r.Check, r.Error)
		}
	}
	out, code = clusterScript(t, env, time.Minute, "status")
	if code != 1 || !regexpMatch(`(?m)^edge2 +\d+ +dead `, out) || !strings.Contains(out, "2/3 edges UP") {
		t.Errorf("status with edge2 dead: exit %d:\n%s", code, out)
	}
	if out, code := clusterScript(t, env, time.Minute, "up", strconv.Itoa(n)); code == 0 || !strings.Contains(out, "down") {
		t.Errorf("up over a broken cluster: exit %d:\n%s", code, out)
	}

	// down stops every process it started, and frees every port.
	out, code = clusterScript(t, env, 90*time.Second, "down")
	if code != 0 {
		t.Errorf("down: exit %d:\n%s", code, out)
	}
	for _, p := range procs {
		if p.alive() {
			t.Errorf("after down, %s (pid %d) still runs", p.name, p.pid)
		}
	}
	if left := c.recorded(t); len(left) != 0 {
		t.Errorf("after down, pid files remain: %v", left)
	}
	ports := []int{c.lb, c.monitor, c.nats, c.redis}
	for i := 0; i < n; i++ {
		ports = append(ports, c.edge+i, c.admin+i)
	}
	for _, p := range ports {
		if err := portClosed(net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err != nil {
			t.Error(err)
		}
	}
	if out, code := clusterScript(t, env, time.Minute, "status"); code != 3 {
		t.Errorf("status after down: exit %d, want 3:\n%s", code, out)
	}
	if out, code := clusterScript(t, env, time.Minute, "down"); code != 0 {
		t.Errorf("second down: exit %d:\n%s", code, out)
	}
}

// up refuses a port that is taken, before starting anything.
func TestClusterScriptPortTaken(t *testing.T) {
	need(t, "redis-server", "apt-get install -y redis-server")
	c := newClusterPorts(t, 1)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.redis)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out, code := clusterScript(t, append(c.env(), "SWITCHBOARD_CLUSTER_HAPROXY=none"), time.Minute, "up", "1")
	if code != 1 || !strings.Contains(out, "SWITCHBOARD_CLUSTER_REDIS_PORT") {
		t.Errorf("up with the Redis port taken: exit %d, want 1 and a message naming SWITCHBOARD_CLUSTER_REDIS_PORT:\n%s", code, out)
	}
	if left := c.recorded(t); len(left) != 0 {
		t.Errorf("processes recorded: %v", left)
	}
	if out, code := clusterScript(t, c.env(), time.Minute, "status"); code != 3 {
		t.Errorf("status: exit %d, want 3:\n%s", code, out)
	}
}

// up rejects a bad number of edges.
func TestClusterScriptUsage(t *testing.T) {
	c := newClusterPorts(t, 1)
	for _, args := range [][]string{{"up", "0"}, {"up", "x"}, {"sideways"}} {
		if out, code := clusterScript(t, c.env(), time.Minute, args...); code == 0 {
			t.Errorf("cluster.sh %q: exit 0:\n%s", args, out)
		}
	}
	if out, code := clusterScript(t, c.env(), time.Minute, "help"); code != 0 || !strings.Contains(out, "cluster.sh up") {
		t.Errorf("help: exit %d:\n%s", code, out)
	}
}
