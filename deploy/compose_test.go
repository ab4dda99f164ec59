package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
	"github.com/switchboard-rt/switchboard/internal/testutil/redistest"
)

// loadCompose loads docker-compose.yml the way 'docker compose' does
// (schema validation, interpolation, normalization, consistency checks),
// with an empty environment.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root := repoRoot()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The services, their images, ports, dependencies and health checks are the
// ones the README describes.
func TestComposeServices(t *testing.T) {
	p := loadCompose(t)
	root := repoRoot()
	if p.Name != "switchboard" {
		t.Errorf("project name %q, want switchboard", p.Name)
	}
	names := p.ServiceNames()
	slices.Sort(names)
	if want := []string{"chat", "edge", "haproxy", "nats", "redis"}; !slices.Equal(names, want) {
		t.Fatalf("services %q, want %q", names, want)
	}

	for _, s := range p.Services {
		if s.ContainerName != "" {
			t.Errorf("%s: container_name %q (breaks --scale)", s.Name, s.ContainerName)
		}
		hc := s.HealthCheck
		switch {
		case hc == nil || hc.Disable || len(hc.Test) < 2:
			t.Errorf("%s: no health check", s.Name)
		case hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL":
			t.Errorf("%s: health check %q", s.Name, hc.Test)
		case hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil:
			t.Errorf("%s: health check without interval, timeout or retries", s.Name)
		}
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s: restart %q, want unless-stopped", s.Name, s.Restart)
		}
		// Only HAProxy is published on the host.
		if s.Name != "haproxy" && len(s.Ports) > 0 {
			t.Errorf("%s publishes ports %v; only haproxy should", s.Name, s.Ports)
		}
	}

	// Images: the two built from the Dockerfile, the others pinned to a major version.
	images := map[string]string{"nats": "nats:2-alpine", "redis": "redis:7-alpine", "haproxy": "haproxy:2.8-alpine"}
	for name, image := range images {
		if got := service(t, p, name).Image; got != image {
			t.Errorf("%s: image %q, want %q", name, got, image)
		}
	}
	stages := dockerfileStages(t)
	for name, target := range map[string]string{"edge": "switchboard", "chat": "chat"} {
		s := service(t, p, name)
		if s.Build == nil {
			t.Errorf("%s: not built", name)
			continue
		}
		if s.Build.Context != root || s.Build.Target != target || (s.Build.Dockerfile != "" && s.Build.Dockerfile != "Dockerfile") {
			t.Errorf("%s: build %+v, want context %s, Dockerfile, target %s", name, s.Build, root, target)
		}
		if !slices.ContainsFunc(stages, func(st stage) bool { return st.name == target }) {
			t.Errorf("%s: target %q is not a stage of the Dockerfile", name, target)
		}
	}

	// Edges: three by default, no host port, scaled with --scale.
	edge := service(t, p, "edge")
	if edge.Deploy == nil || edge.Deploy.Replicas == nil || *edge.Deploy.Replicas != 3 {
		t.Errorf("edge: replicas %v, want 3", edge.Deploy)
	}
	if got := edge.Environment["SWITCHBOARD_LOG_FORMAT"]; got == nil || *got != "json" {
		t.Errorf("edge: SWITCHBOARD_LOG_FORMAT %v, want json", got)
	}
	if edge.StopGracePeriod == nil || time.Duration(*edge.StopGracePeriod) < 15*time.Second {
		t.Errorf("edge: stop_grace_period %v, want at least drain-delay + shutdown-timeout (15s)", edge.StopGracePeriod)
	}

	// Start order: each one waits for the health of what it uses.
	deps := map[string][]string{"edge": {"nats", "redis"}, "chat": {"nats"}, "haproxy": {"edge"}, "nats": nil, "redis": nil}
	for name, want := range deps {
		s := service(t, p, name)
		var got []string
		for dep, d := range s.DependsOn {
			got = append(got, dep)
			if d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: depends on %s with condition %q, want service_healthy", name, dep, d.Condition)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: depends on %q, want %q", name, got, want)
		}
	}

	// HAProxy: Socket.IO on 3000 for everyone, its /healthz and /stats on
	// 8404 for the host only; its configuration from deploy/haproxy.
	hap := service(t, p, "haproxy")
	var ports []string
	for _, pc := range hap.Ports {
		ports = append(ports, fmt.Sprintf("%s:%s:%d/%s", pc.HostIP, pc.Published, pc.Target, pc.Protocol))
	}
	slices.Sort(ports)
	if want := []string{"127.0.0.1:8404:8404/tcp", ":3000:3000/tcp"}; !slices.Equal(ports, want) {
		t.Errorf("haproxy: ports %q, want %q", ports, want)
	}
	cfgPath := filepath.Join(root, "deploy/haproxy/haproxy.cfg")
	if len(hap.Volumes) != 1 || hap.Volumes[0].Source != cfgPath ||
		hap.Volumes[0].Target != "/usr/local/etc/haproxy/haproxy.cfg" || !hap.Volumes[0].ReadOnly {
		t.Errorf("haproxy: volumes %+v, want %s read-only at /usr/local/etc/haproxy/haproxy.cfg", hap.Volumes, cfgPath)
	}
}

// The services agree with each other: the addresses in the command lines,
// the health checks and the HAProxy configuration.
func TestComposeWiring(t *testing.T) {
	p := loadCompose(t)
	edge, chat := service(t, p, "edge"), service(t, p, "chat")
	natsSvc, hap := service(t, p, "nats"), service(t, p, "haproxy")
	args := edgeArgs(t, edge)

	// NATS: the edges and the service use the compose service at its port.
	natsOpts := natsOptions(t, natsSvc)
	natsURL := "nats://nats:" + strconv.Itoa(natsOpts.Port)
	if v, _ := flagValue(args, "nats-url"); v != natsURL {
		t.Errorf("edge --nats-url %q, want %q", v, natsURL)
	}
	if v, _ := flagValue(chat.Command, "nats-url"); v != natsURL {
		t.Errorf("chat --nats-url %q, want %q", v, natsURL)
	}
	if want := fmt.Sprintf("http://127.0.0.1:%d/healthz", natsOpts.HTTPPort); !slices.Contains(natsSvc.HealthCheck.Test, want) {
		t.Errorf("nats: health check %q, want a GET of %s", natsSvc.HealthCheck.Test, want)
	}

	// Redis at its default port; the Redis adapter and presence.
	for flag, want := range map[string]string{"redis-url": "redis://redis:6379", "adapter": "redis", "presence": "redis"} {
		if v, _ := flagValue(args, flag); v != want {
			t.Errorf("edge --%s %q, want %q", flag, v, want)
		}
	}

	// The chat service answers a namespace the edges serve, on their prefix.
	ns, _ := flagValue(chat.Command, "ns")
	if !slices.Contains(flagValues(args, "namespace"), ns) {
		t.Errorf("chat --ns %q is not among the edges' --namespace %q", ns, flagValues(args, "namespace"))
	}
	edgePrefix, ok := flagValue(args, "subject-prefix")
	if !ok {
		edgePrefix = "sb" // the edges' default
	}
	if v, _ := flagValue(chat.Command, "prefix"); v != edgePrefix {
		t.Errorf("chat --prefix %q, edges' --subject-prefix %q", v, edgePrefix)
	}

	// Edge ports: Socket.IO where HAProxy sends clients, /readyz where HAProxy
	// and Docker check it.
	addr, _ := flagValue(args, "addr")
	admin, _ := flagValue(args, "admin-addr")
	sioPort, adminPort := portOf(t, addr), portOf(t, admin)
	if want := "http://127.0.0.1:" + adminPort + "/readyz"; !slices.Contains(edge.HealthCheck.Test, want) {
		t.Errorf("edge: health check %q, want a GET of %s", edge.HealthCheck.Test, want)
	}
	for _, e := range edge.Expose {
		if e != sioPort && e != adminPort {
			t.Errorf("edge: exposes %s, neither --addr nor --admin-addr", e)
		}
	}
	cfg := readHAProxy(t, filepath.Join(repoRoot(), "deploy/haproxy/haproxy.cfg"))
	tmpl := cfg.find(t, "backend edges", "server-template ")
	if f := strings.Fields(tmpl); len(f) < 4 || f[3] != "edge:"+sioPort || !strings.Contains(tmpl, " check port "+adminPort+" ") ||
		!strings.Contains(tmpl, "resolvers docker") {
		t.Errorf("haproxy.cfg: %q, want the edge service at edge:%s, checked on port %s, resolved with Docker's DNS", tmpl, sioPort, adminPort)
	}
	if got := cfg.find(t, "backend edges", "option httpchk"); got != "option httpchk GET /readyz" {
		t.Errorf("haproxy.cfg: %q, want option httpchk GET /readyz", got)
	}

	// HAProxy listens where compose publishes, and its health check is the
	// monitor URI.
	if got := cfg.find(t, "frontend socketio", "bind "); got != "bind :3000" {
		t.Errorf("haproxy.cfg frontend socketio: %q, want bind :3000", got)
	}
	if got := cfg.find(t, "frontend monitor", "bind "); got != "bind :8404" {
		t.Errorf("haproxy.cfg frontend monitor: %q, want bind :8404", got)
	}
	uri := strings.TrimPrefix(cfg.find(t, "frontend monitor", "monitor-uri "), "monitor-uri ")
	if want := "http://127.0.0.1:8404" + uri; !slices.Contains(hap.HealthCheck.Test, want) {
		t.Errorf("haproxy: health check %q, want a GET of %s", hap.HealthCheck.Test, want)
	}

	// The chat health check reads the file the image's entrypoint writes.
	ep := dockerfileEntrypoint(t, "chat")
	if len(ep) < 3 || !strings.Contains(ep[2], ">/tmp/chat.stdout") {
		t.Errorf("Dockerfile chat ENTRYPOINT %q does not write /tmp/chat.stdout", ep)
	}
	if !slices.Contains(chat.HealthCheck.Test, "grep -qx READY /tmp/chat.stdout") {
		t.Errorf("chat: health check %q", chat.HealthCheck.Test)
	}
}

// edgeArgs returns the edge service's command after "edge".
func edgeArgs(t *testing.T, s types.ServiceConfig) []string {
	t.Helper()
	if len(s.Command) == 0 || s.Command[0] != "edge" {
		t.Fatalf("edge: command %q, want switchboard edge …", s.Command)
	}
	return s.Command[1:]
}

// natsOptions parses the nats service's command line with nats-server's own
// flag parser.
func natsOptions(t *testing.T, s types.ServiceConfig) *server.Options {
	t.Helper()
	fs := flag.NewFlagSet("nats-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	noop := func() {}
	opts, err := server.ConfigureOptions(fs, s.Command, noop, noop, noop)
	if err != nil {
		t.Fatalf("nats: command %q: %v", s.Command, err)
	}
	return opts
}

// The edge command line of the compose file runs with the real binary: the
// same flags and environment, the compose host names replaced by servers of
// the test. The node gets ready, serves Socket.IO, talks to Redis (the Redis
// adapter), answers its health check command, and drains on SIGTERM.
func TestComposeEdgeCommandRuns(t *testing.T) {
	need(t, "redis-server", "apt-get install -y redis-server")
	p := loadCompose(t)
	edge := service(t, p, "edge")
	bin := switchboardBin(t)

	ns := natstest.Start(t, nil)
	rs := redistest.Start(t)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t, "127.0.0.1"))
	admin := "127.0.0.1:" + strconv.Itoa(freePort(t, "127.0.0.1"))
	args := edgeArgs(t, edge)
	args = withFlag(t, args, "addr", addr)
	args = withFlag(t, args, "admin-addr", admin)
	args = withFlag(t, args, "nats-url", ns.ClientURL())
	args = withFlag(t, args, "redis-url", rs.URL())
	var env []string
	for k, v := range edge.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}

	n := startProc(t, "switchboard edge", env, append([]string{bin, "edge"}, args...)...)
	checkFor(t, readyTimeout, n, func() error { return wantStatus("http://"+admin+"/readyz", 200) })

	code, body, err := httpGet("http://" + addr + "/socket.io/?EIO=4&transport=polling")
	if err != nil || code != 200 || !strings.HasPrefix(body, `0{"sid":"`) {
		t.Errorf("Socket.IO handshake: %d %q %v", code, body, err)
	}
	if err := wantStatus("http://"+admin+"/metrics", 200); err != nil {
		t.Error(err)
	}
	// The Redis adapter subscribes to the channels of @socket.io/redis-adapter.
	checkFor(t, 5*time.Second, n, func() error {
		channels, err := rs.Do("PUBSUB", "CHANNELS")
		if err != nil {
			return err
		}
		patterns, err := rs.Do("PUBSUB", "NUMPAT")
		if err != nil {
			return err
		}
		if channels == "*0" && patterns == ":0" {
			return fmt.Errorf("the edge subscribed to nothing on Redis (PUBSUB CHANNELS %s, NUMPAT %s): is --adapter=redis wired in?", channels, patterns)
		}
		return nil
	})
	// SWITCHBOARD_LOG_FORMAT=json: every log line is a JSON object.
	logs := strings.Split(strings.TrimSpace(n.stderr.String()), "\n")
	for _, l := range logs {
		if !json.Valid([]byte(l)) || !strings.HasPrefix(l, "{") {
			t.Errorf("SWITCHBOARD_LOG_FORMAT=json: a log line is not JSON: %q", l)
			break
		}
	}

	// The container's health check command, when this machine has wget.
	if _, err := exec.LookPath("wget"); err == nil {
		hc := replaceAll(edge.HealthCheck.Test[1:], "127.0.0.1:"+portOf(t, adminFlag(t, edge)), admin)
		if out, err := exec.Command(hc[0], hc[1:]...).CombinedOutput(); err != nil {
			t.Errorf("health check %q: %v %s", hc, err, out)
		}
	}

	start := time.Now()
	if err, ok := n.stop(t); err != nil || !ok {
		t.Errorf("after SIGTERM: exit %v (stopped in time: %v)", err, ok)
	}
	drain, _ := flagValue(args, "drain-delay")
	if d, _ := time.ParseDuration(drain); time.Since(start) < d {
		t.Errorf("stopped %v after SIGTERM, before --drain-delay %s", time.Since(start), drain)
	}
}

// adminFlag returns the edge service's --admin-addr.
func adminFlag(t *testing.T, edge types.ServiceConfig) string {
	t.Helper()
	v, _ := flagValue(edgeArgs(t, edge), "admin-addr")
	return v
}

func replaceAll(args []string, old, new string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, old, new)
	}
	return out
}

// The chat service runs the way the image runs it (the Dockerfile's
// entrypoint, the compose command) and its health check passes.
func TestComposeChatCommandRuns(t *testing.T) {
	p := loadCompose(t)
	chat := service(t, p, "chat")
	bin := chatBin(t)
	ns := natstest.Start(t, nil)

	// The entrypoint, with the binary and its stdout file in the test's
	// directories.
	out := filepath.Join(t.TempDir(), "chat.stdout")
	ep := replaceAll(dockerfileEntrypoint(t, "chat"), "/tmp/chat.stdout", out)
	ep = replaceAll(ep, "exec chat ", "exec "+bin+" ")
	args := withFlag(t, chat.Command, "nats-url", ns.ClientURL())
	c := startProc(t, "chat", nil, append(ep, args...)...)

	hc := replaceAll(chat.HealthCheck.Test, "/tmp/chat.stdout", out)
	if hc[0] != "CMD-SHELL" {
		t.Fatalf("chat health check %q", hc)
	}
	checkFor(t, readyTimeout, c, func() error {
		if b, err := exec.Command("sh", "-c", hc[1]).CombinedOutput(); err != nil {
			return fmt.Errorf("health check %q: %v %s", hc[1], err, b)
		}
		return nil
	})
	if err, ok := c.stop(t); err != nil || !ok {
		t.Errorf("after SIGTERM: exit %v (stopped in time: %v)", err, ok)
	}
}

// The NATS command line serves /healthz on the port of the health check.
func TestComposeNATSCommand(t *testing.T) {
	p := loadCompose(t)
	opts := natsOptions(t, service(t, p, "nats"))
	if opts.Port != 4222 || opts.HTTPPort != 8222 {
		t.Errorf("nats: port %d, monitoring port %d, want 4222 and 8222", opts.Port, opts.HTTPPort)
	}
	if opts.JetStream {
		t.Error("nats: JetStream on; nothing uses it")
	}
	// The same options on free loopback ports.
	opts.Host, opts.Port = "127.0.0.1", -1
	opts.HTTPHost, opts.HTTPPort = "127.0.0.1", freePort(t, "127.0.0.1")
	opts.NoLog, opts.NoSigs = true, true
	natstest.Start(t, opts)
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", opts.HTTPPort)
	checkFor(t, readyTimeout, nil, func() error { return wantStatus(url, 200) })
}

// The Redis command line starts a Redis that answers PING.
func TestComposeRedisCommand(t *testing.T) {
	redis := need(t, "redis-server", "apt-get install -y redis-server")
	p := loadCompose(t)
	cmd := service(t, p, "redis").Command
	if len(cmd) == 0 || cmd[0] != "redis-server" {
		t.Fatalf("redis: command %q", cmd)
	}
	port := freePort(t, "127.0.0.1")
	args := append(append([]string{redis}, cmd[1:]...), "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", t.TempDir())
	r := startProc(t, "redis-server", nil, args...)
	checkFor(t, readyTimeout, r, func() error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "+PONG" {
			return fmt.Errorf("PING: %q %v", line, err)
		}
		return nil
	})
}
