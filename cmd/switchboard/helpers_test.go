package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// checkFor is testutil.CheckFor.
var checkFor = testutil.CheckFor

// run is a command running in-process.
type run struct {
	cancel         context.CancelFunc
	done           chan struct{} // closed when Run returned
	err            error         // Run's error, set before done is closed
	stdout, stderr *testutil.SyncBuffer
}

// runArgs runs the app with args (program name excluded) and returns its
// error; it must return by itself within timeout.
func runArgs(t testing.TB, timeout time.Duration, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	r := start(t, args...)
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.cancel()
		t.Fatalf("switchboard %s did not return within %s", strings.Join(args, " "), timeout)
	}
	return r.stdout.String(), r.stderr.String(), r.err
}

// start runs the app with args in a goroutine. Cleanup cancels it and
// waits for it to return.
func start(t testing.TB, args ...string) *run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{cancel: cancel, done: make(chan struct{}), stdout: new(testutil.SyncBuffer), stderr: new(testutil.SyncBuffer)}
	app := newApp(r.stdout, r.stderr)
	go func() {
		defer close(r.done)
		r.err = app.RunContext(ctx, append([]string{"switchboard"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Errorf("switchboard %s did not stop within 20s", strings.Join(args, " "))
		}
	})
	return r
}

// stop cancels the run (the signal) and returns its error.
func (r *run) stop(t testing.TB, timeout time.Duration) error {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		t.Fatalf("did not stop within %s; stderr:\n%s", timeout, r.stderr.String())
		return nil
	}
}

// banner is what a node prints at start-up.
type banner struct {
	socketIO string // http://host:port/socket.io/
	nats     string // nats://host:port (dev), the --nats-url (edge)
	node     string // edge only
	admin    string // http://host:port, without a path
}

var (
	reSocketIO = regexp.MustCompile(`(?m)^  Socket\.IO: +(\S+)$`)
	reNATS     = regexp.MustCompile(`(?m)^  NATS: +(\S+)$`)
	reNode     = regexp.MustCompile(`(?m)^  Node: +(\S+)$`)
	reAdmin    = regexp.MustCompile(`(?m)^  Admin: +(\S+)/healthz `)
)

// waitBanner waits for the start-up lines and parses them.
func (r *run) waitBanner(t testing.TB) banner {
	t.Helper()
	var b banner
	checkFor(t, 15*time.Second, 10*time.Millisecond, func() error {
		select {
		case <-r.done:
			t.Fatalf("exited before serving: %v\nstderr:\n%s", r.err, r.stderr.String())
		default:
		}
		out := r.stdout.String()
		m := reAdmin.FindStringSubmatch(out)
		if m == nil {
			return fmt.Errorf("no banner yet; stdout: %q", out)
		}
		b.admin = m[1]
		b.socketIO = reSocketIO.FindStringSubmatch(out)[1]
		if m := reNATS.FindStringSubmatch(out); m != nil {
			b.nats = m[1]
		}
		if m := reNode.FindStringSubmatch(out); m != nil {
			b.node = m[1]
		}
		return nil
	})
	return b
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// notListening fails if something accepts connections on addr.
func notListening(t testing.TB, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		_ = c.Close()
		t.Fatalf("something listens on %s", addr)
	}
}

func hostPort(t testing.TB, rawURL string) string {
	t.Helper()
	s := rawURL[strings.Index(rawURL, "://")+3:]
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

// newHTTPClient returns a client whose idle connections are closed at cleanup.
func newHTTPClient(t testing.TB) *http.Client {
	tr := &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// get returns the status and body of GET url.
func get(t testing.TB, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// getStatus is get for use inside checkFor.
func getStatus(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// poller is a minimal Engine.IO polling client.
type poller struct {
	t   testing.TB
	c   *http.Client
	url string // .../socket.io/?EIO=4&transport=polling&sid=...
	sid string
}

var reSID = regexp.MustCompile(`^0\{"sid":"([^"]+)"`)

func handshake(t testing.TB, c *http.Client, socketIOURL string) *poller {
	t.Helper()
	status, body := get(t, c, socketIOURL+"?EIO=4&transport=polling")
	m := reSID.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("handshake: %d %q", status, body)
	}
	return &poller{t: t, c: c, url: socketIOURL + "?EIO=4&transport=polling&sid=" + m[1], sid: m[1]}
}

func (p *poller) post(packets ...string) {
	p.t.Helper()
	resp, err := p.c.Post(p.url, "text/plain;charset=UTF-8", strings.NewReader(strings.Join(packets, "\x1e")))
	if err != nil {
		p.t.Fatalf("POST: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("POST: status %d", resp.StatusCode)
	}
}

// poll returns the packets of one GET.
func (p *poller) poll() []string {
	p.t.Helper()
	status, body := get(p.t, p.c, p.url)
	if status != http.StatusOK {
		p.t.Fatalf("GET: %d %q", status, body)
	}
	return strings.Split(body, "\x1e")
}

// expect polls until a packet starting with prefix arrives and returns it.
func (p *poller) expect(prefix string) string {
	p.t.Helper()
	for range 5 {
		for _, pk := range p.poll() {
			if strings.HasPrefix(pk, prefix) {
				return pk
			}
		}
	}
	p.t.Fatalf("no packet starting with %q", prefix)
	return ""
}

// noLeaks fails if goroutines started during the test are still running
// after a grace period.
func noLeaks(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var n int
		deadline := time.Now().Add(5 * time.Second)
		for {
			n = runtime.NumGoroutine()
			if n <= before || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines left running (had %d before):\n%s", n-before, before, buf)
		}
	})
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
