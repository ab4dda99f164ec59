package main

import (
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// runNATS starts a NATS server for a test on port (-1: a free one).
func runNATS(t testing.TB, port int) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true, NoSystemAccount: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		s.Shutdown()
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// readyz returns /readyz's status and report.
func readyz(c *http.Client, admin string) (int, readyReport, error) {
	status, body, err := getStatus(c, admin+"/readyz")
	if err != nil {
		return 0, readyReport{}, err
	}
	var rep readyReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		return status, rep, errorf("readyz body %q: %v", body, err)
	}
	return status, rep, nil
}

// TestEdgeReadyzFollowsNATS: /readyz is 200 only while the NATS connection is up.
func TestEdgeReadyzFollowsNATS(t *testing.T) {
	noLeaks(t)
	ns := runNATS(t, -1)
	natsURL := ns.ClientURL()
	r := start(t, "edge", "--addr", "127.0.0.1:0", "--nats-url", natsURL, "--node-id", "test-node-1")
	b := r.waitBanner(t)
	c := newHTTPClient(t)
	if b.node != "test-node-1" || b.nats != natsURL {
		t.Fatalf("banner: %+v", b)
	}
	wantReady := func(want int, natsCheck string) {
		t.Helper()
		checkFor(t, 10*time.Second, 25*time.Millisecond, func() error {
			status, rep, err := readyz(c, b.admin)
			if err != nil {
				return err
			}
			if status != want || !strings.Contains(rep.Checks["nats"], natsCheck) {
				return errorf("readyz %d %+v, want %d and nats %q", status, rep, want, natsCheck)
			}
			return nil
		})
	}
	wantReady(http.StatusOK, "ok")
	if status, body := get(t, c, b.socketIO+"?EIO=4&transport=polling"); status != http.StatusOK || !strings.HasPrefix(body, `0{"sid":"`) {
		t.Fatalf("handshake: %d %q", status, body)
	}

	// NATS goes away: not ready, but alive.
	natsAddr := ns.Addr().(*net.TCPAddr)
	ns.Shutdown()
	ns.WaitForShutdown()
	wantReady(http.StatusServiceUnavailable, "not connected")
	if status, _ := get(t, c, b.admin+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while NATS is down: %d", status)
	}

	// NATS comes back on the same port: ready again.
	runNATS(t, natsAddr.Port)
	wantReady(http.StatusOK, "ok")

	if err := r.stop(t, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.stderr.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", r.stderr.String())
	}
}

// TestEdgeStartsWithoutNATS: an unreachable NATS does not stop the node
// from starting; it is alive and not ready, and stops cleanly.
func TestEdgeStartsWithoutNATS(t *testing.T) {
	noLeaks(t)
	nowhere := freeAddr(t)
	r := start(t, "edge", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--nats-url", "nats://"+nowhere)
	b := r.waitBanner(t)
	c := newHTTPClient(t)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+-[0-9a-f]{8}$`).MatchString(b.node) {
		t.Errorf("generated node id %q", b.node)
	}
	status, rep, err := readyz(c, b.admin)
	if err != nil || status != http.StatusServiceUnavailable || !strings.HasPrefix(rep.Checks["nats"], "not connected") ||
		rep.Checks["server"] != "ok" || rep.Status != "not ready" {
		t.Fatalf("readyz %d %+v %v", status, rep, err)
	}
	if status, _ := get(t, c, b.admin+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz: %d", status)
	}
	if err := r.stop(t, 15*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestRedactURLs(t *testing.T) {
	got := redactURLs("nats://u:secret@a:4222, tls://token@b:4222,nats://c:4222")
	if strings.Contains(got, "secret") || strings.Contains(got, "token") || !strings.Contains(got, "nats://c:4222") {
		t.Errorf("redactURLs: %q", got)
	}
}

func TestDefaultNodeID(t *testing.T) {
	a, b := defaultNodeID(), defaultNodeID()
	if a == b || checkNodeID(a) != nil {
		t.Errorf("node ids %q %q", a, b)
	}
}
