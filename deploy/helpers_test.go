package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// The bounds of the tests.
const (
	buildTimeout = 5 * time.Minute  // go build, cold caches included
	readyTimeout = 20 * time.Second // from starting a process to its readiness
	stopTimeout  = 20 * time.Second // from SIGTERM to SIGKILL
)

// tmpDir holds what the tests build; TestMain removes it.
var tmpDir string

func TestMain(m *testing.M) {
	var err error
	if tmpDir, err = os.MkdirTemp("", "switchboard-deploy-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(tmpDir)
	os.Exit(code)
}

// repoRoot is the root of the module.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// need returns the path of program name. Without it the test is skipped,
// or fails when CI is set: .ci/run installs what the tests need.
func need(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found; .ci/run must install it (%s)", name, install)
	}
	t.Skipf("%s not found (%s)", name, install)
	return ""
}

// needSocketIOClient returns the node binary, with itest/js installed.
func needSocketIOClient(t *testing.T) string {
	t.Helper()
	node := need(t, "node", "apt-get install -y nodejs npm")
	if _, err := os.Stat(filepath.Join(repoRoot(), "itest/js/node_modules/socket.io-client/package.json")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("itest/js is not installed: run 'make js' (npm ci) first")
		}
		t.Skip("itest/js is not installed: cd itest/js && npm ci")
	}
	return node
}

// once runs a setup step once per test binary; every test asking for it
// waits for it and fails with its error.
type once struct {
	once sync.Once
	err  error
}

func (o *once) do(t *testing.T, f func() error) {
	t.Helper()
	o.once.Do(func() {
		o.err = errors.New("the setup step failed") // if f does not return (t.Fatal)
		o.err = f()
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
}

// switchboardBin returns cmd/switchboard as the image has it (see imageBins).
func switchboardBin(t *testing.T) string {
	t.Helper()
	return imageBins(t)["switchboard"]
}

// chatBin returns examples/chat as the image has it (see imageBins).
func chatBin(t *testing.T) string {
	t.Helper()
	return imageBins(t)["chat"]
}

func goBuildIn(dir, out, pkg string, env []string, flags ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := append(append([]string{"build"}, flags...), "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// proc is a process a test started; it is stopped when the test ends.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout testutil.SyncBuffer
	stderr testutil.SyncBuffer
	done   chan struct{}
	err    error // after done
}

// startProc starts argv with env added to the test's environment; its output
// is kept and printed when the test fails.
func startProc(t *testing.T, name string, env []string, argv ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", name, tail(p.stdout.String(), 40), name, tail(p.stderr.String(), 40))
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits, then SIGKILL; it returns the exit error
// (nil: status 0) and whether the process stopped within stopTimeout.
func (p *proc) stop(t *testing.T) (error, bool) {
	t.Helper()
	if p.exited() {
		return p.err, true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err, true
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return p.err, false
	}
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// checkFor calls fn every interval until it returns nil or timeout passes,
// then fails the test with fn's last error. It stops early when p exits.
func checkFor(t *testing.T, timeout time.Duration, p *proc, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if p != nil && p.exited() {
			t.Fatalf("%s exited (%v) before: %v", p.name, p.err, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 3 * time.Second}

// httpGet returns the status code and body of GET url.
func httpGet(url string) (int, string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// wantStatus returns nil when GET url answers code.
func wantStatus(url string, code int) error {
	got, body, err := httpGet(url)
	if err != nil {
		return err
	}
	if got != code {
		return fmt.Errorf("GET %s: %d %s", url, got, strings.TrimSpace(body))
	}
	return nil
}

// freePort returns a TCP port of host that was free a moment ago.
func freePort(t *testing.T, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeRange returns the first of n consecutive ports that are free on
// every host. The ports are below the Linux ephemeral range (32768-60999),
// where the port-0 listeners of parallel tests cannot take them, and far
// from 3000, 4222 and 6379.
func freeRange(t *testing.T, n int, hosts ...string) int {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1"}
	}
	for try := 0; try < 200; try++ {
		base := 20000 + rand.IntN(12000-n)
		if portsFree(base, n, hosts) {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

func portsFree(base, n int, hosts []string) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		for _, h := range hosts {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(p)))
			if err != nil {
				return false
			}
			ls = append(ls, l)
		}
	}
	return true
}

// portClosed returns nil when nothing accepts connections on addr.
func portClosed(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil
	}
	_ = c.Close()
	return errors.New(addr + " still accepts connections")
}

// flagValue returns the value of --name in args (--name=value or --name
// value) and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// flagValues returns every value of a repeatable flag.
func flagValues(args []string, name string) []string {
	var vs []string
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			vs = append(vs, v)
		} else if a == "--"+name && i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			vs = append(vs, args[i+1])
		}
	}
	return vs
}

// withFlag returns args with the value of --name replaced by value (the
// flag must be there, in either form).
func withFlag(t *testing.T, args []string, name, value string) []string {
	t.Helper()
	out := append([]string(nil), args...)
	for i, a := range out {
		if strings.HasPrefix(a, "--"+name+"=") {
			out[i] = "--" + name + "=" + value
			return out
		}
		if a == "--"+name && i+1 < len(out) {
			out[i+1] = value
			return out
		}
	}
	t.Fatalf("--%s is not in %q", name, args)
	return nil
}

// portOf returns the port of a host:port, or of a URL's host:port.
func portOf(t *testing.T, addr string) string {
	t.Helper()
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	}
	addr, _, _ = strings.Cut(addr, "/")
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return port
}

// regexpMatch reports whether pattern matches s.
func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
