package deploy_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
	"github.com/switchboard-rt/switchboard/internal/testutil/natstest"
	"github.com/switchboard-rt/switchboard/internal/testutil/redistest"
)

// dnsServer is a DNS server on a loopback UDP port that answers A queries
// for the names it is given, like Docker's embedded DNS answers a compose
// service's name with the addresses of its replicas.
type dnsServer struct {
	conn *net.UDPConn
	wg   sync.WaitGroup

	mu sync.Mutex
	a  map[string][]net.IP
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	d := &dnsServer{conn: conn, a: map[string][]net.IP{}}
	d.wg.Add(1)
	go d.serve()
	t.Cleanup(func() {
		_ = conn.Close()
		d.wg.Wait()
	})
	return d
}

func (d *dnsServer) addr() string { return d.conn.LocalAddr().String() }

// set makes name resolve to ips (none: the name exists without addresses).
func (d *dnsServer) set(name string, ips ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.a[name] = nil
	for _, ip := range ips {
		d.a[name] = append(d.a[name], net.ParseIP(ip).To4())
	}
}

func (d *dnsServer) serve() {
	defer d.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, from, err := d.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if resp := d.answer(buf[:n]); resp != nil {
			_, _ = d.conn.WriteToUDP(resp, from)
		}
	}
}

// answer builds the response to query q: the A records of a known name,
// no record for other types, NXDOMAIN for unknown names. nil: not a query
// it understands.
func (d *dnsServer) answer(q []byte) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	off := 12
	var labels []string
	for {
		if off >= len(q) {
			return nil
		}
		l := int(q[off])
		off++
		if l == 0 {
			break
		}
		if l&0xC0 != 0 || off+l > len(q) {
			return nil
		}
		labels = append(labels, strings.ToLower(string(q[off:off+l])))
		off += l
	}
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	off += 4
	d.mu.Lock()
	ips, known := d.a[strings.Join(labels, ".")]
	ips = slices.Clone(ips)
	d.mu.Unlock()

	flags := uint16(0x8080) | uint16(q[2]&0x01)<<8 // response, recursion available, RD copied
	if !known {
		flags |= 3 // NXDOMAIN
	}
	if qtype != 1 { // not A
		ips = nil
	}
	resp := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q[0:2]))
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(ips)))
	resp = append(resp, 0, 0, 0, 0) // no authority, no additional records
	resp = append(resp, q[12:off]...)
	for _, ip := range ips {
		resp = append(resp, 0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4) // the question's name, A, IN, TTL 1 s
		resp = append(resp, ip...)
	}
	return resp
}

// sub replaces old by new in s, which must hold old exactly once.
func sub(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("haproxy.cfg holds %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// The compose HAProxy configuration, run for real: it finds the edges (the
// compose edge command) through a DNS server, as in Docker, follows the
// replicas as they come and go, keeps long-polling sessions on their edge,
// passes WebSockets, and a broadcast reaches the clients of every edge.
func TestHAProxyComposeConfig(t *testing.T) {
	haproxy := needHAProxy(t)
	need(t, "redis-server", "apt-get install -y redis-server")
	node := needSocketIOClient(t)
	bin := switchboardBin(t)
	p := loadCompose(t)
	edge := service(t, p, "edge")

	// Three "containers": one loopback address each, the same ports.
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	for _, ip := range ips {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Skipf("cannot listen on %s: %v", ip, err)
		}
		l.Close()
	}
	sioPort := freeRange(t, 1, ips...)
	adminPort := freeRange(t, 1, ips...)
	for adminPort == sioPort {
		adminPort = freeRange(t, 1, ips...)
	}
	lbPort, monPort := freePort(t, "127.0.0.1"), freePort(t, "127.0.0.1")
	monitor := "127.0.0.1:" + strconv.Itoa(monPort)

	ns := natstest.Start(t, nil)
	rs := redistest.Start(t)
	var env []string
	for k, v := range edge.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	var edges []*proc
	for i, ip := range ips {
		args := edgeArgs(t, edge)
		args = withFlag(t, args, "addr", net.JoinHostPort(ip, strconv.Itoa(sioPort)))
		args = withFlag(t, args, "admin-addr", net.JoinHostPort(ip, strconv.Itoa(adminPort)))
		args = withFlag(t, args, "nats-url", ns.ClientURL())
		args = withFlag(t, args, "redis-url", rs.URL())
		edges = append(edges, startProc(t, fmt.Sprintf("edge %d", i+1), env, append([]string{bin, "edge"}, args...)...))
	}
	t.Cleanup(func() { stopAll(t, edges...) })
	for i, ip := range ips {
		url := "http://" + net.JoinHostPort(ip, strconv.Itoa(adminPort)) + "/readyz"
		checkFor(t, readyTimeout, edges[i], func() error { return wantStatus(url, 200) })
	}

	// Docker's DNS at first knows two replicas.
	dns := startDNS(t)
	dns.set("edge", ips[:2]...)

	b, err := os.ReadFile(filepath.Join(repoRoot(), "deploy/haproxy/haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	cfg = sub(t, cfg, "bind :3000\n", "bind 127.0.0.1:"+strconv.Itoa(lbPort)+"\n")
	cfg = sub(t, cfg, "bind :8404\n", "bind "+monitor+"\n")
	cfg = sub(t, cfg, "nameserver docker 127.0.0.11:53\n", "nameserver docker "+dns.addr()+"\n")
	cfg = sub(t, cfg, " edge:3000 ", " edge:"+strconv.Itoa(sioPort)+" ")
	cfg = sub(t, cfg, " check port 9100 ", " check port "+strconv.Itoa(adminPort)+" ")
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	hp := startProc(t, "haproxy", nil, haproxy, "-db", "-f", path)

	waitUp := func(want ...string) {
		t.Helper()
		checkFor(t, 30*time.Second, hp, func() error {
			stats, err := haproxyStats(monitor)
			if err != nil {
				return err
			}
			if got := serversUp(stats); !slices.Equal(got, want) {
				return fmt.Errorf("servers UP %q, want %q", got, want)
			}
			return nil
		})
	}
	waitUp("edge1", "edge2")
	if err := wantStatus("http://"+monitor+"/healthz", 200); err != nil {
		t.Error(err)
	}

	// docker compose up --scale edge=3
	dns.set("edge", ips...)
	waitUp("edge1", "edge2", "edge3")

	lb := "http://127.0.0.1:" + strconv.Itoa(lbPort)
	for _, r := range runClusterCheck(t, node, "--lb", lb, "--no-chat") {
		if !r.OK {
			t.Errorf("through the compose HAProxy configuration, %s: %s%s", r.Check, r.Error, adapterHint(r.Check))
		}
	}
	stats, err := haproxyStats(monitor)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"edge1", "edge2", "edge3"} {
		if n, _ := strconv.Atoi(stats[name]["stot"]); n == 0 {
			t.Errorf("round robin: %s got no session (stats %v)", name, stats[name])
		}
	}

	// docker compose up --scale edge=2: the container stops (and drains),
	// then leaves the DNS.
	if err, ok := edges[2].stop(t); err != nil || !ok {
		t.Errorf("edge 3 after SIGTERM: %v (in time: %v)", err, ok)
	}
	dns.set("edge", ips[:2]...)
	waitUp("edge1", "edge2")
	for _, r := range runClusterCheck(t, node, "--lb", lb, "--no-chat", "--only", "lb-polling,lb-websocket,lb-upgrade") {
		if !r.OK {
			t.Errorf("after scaling down, %s: %s", r.Check, r.Error)
		}
	}

	// No edge at all: HAProxy's health check fails.
	dns.set("edge")
	checkFor(t, 30*time.Second, hp, func() error { return wantStatus("http://"+monitor+"/healthz", 503) })
}

// stopAll stops the processes together (each one drains).
func stopAll(t *testing.T, ps ...*proc) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(t)
		}()
	}
	wg.Wait()
}

// checkResult is one line of itest/js/cluster/cluster-check.mjs.
type checkResult struct {
	Check string `json:"check"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	MS    int    `json:"ms"`
}

// runClusterCheck runs itest/js/cluster/cluster-check.mjs and returns its
// checks; it fails the test when the script ran none.
func runClusterCheck(t *testing.T, node string, args ...string) []checkResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(repoRoot(), "itest/js/cluster/cluster-check.mjs")}, args...)...)
	cmd.Dir = filepath.Join(repoRoot(), "itest/js")
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var results []checkResult
	for _, line := range strings.Split(string(out), "\n") {
		var r checkResult
		if json.Unmarshal([]byte(line), &r) == nil && r.Check != "" {
			t.Logf("cluster-check: %s", line)
			results = append(results, r)
		}
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) || len(results) == 0 {
		t.Fatalf("cluster-check.mjs %q: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, stderr.String())
	}
	return results
}

// adapterHint explains the checks that need a cluster adapter.
func adapterHint(check string) string {
	switch check {
	case "cross-edge-broadcast", "lb-broadcast", "cross-edge-chat":
		return " (a broadcast or a cluster request across edges: needs the Redis adapter of 'switchboard edge --adapter redis')"
	}
	return ""
}
