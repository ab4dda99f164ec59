package examples_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// The bounds of the tests. Installing and building happen once per run and
// have bounds of their own.
const (
	testTimeout  = 60 * time.Second // one end-to-end test, from starting dev to stopping everything
	stopTimeout  = 10 * time.Second // from SIGTERM to SIGKILL
	setupTimeout = 5 * time.Minute  // npm ci or go build, cold caches included
)

// tmpDir holds the binaries built for this run; TestMain removes it.
var tmpDir string

func TestMain(m *testing.M) {
	var err error
	if tmpDir, err = os.MkdirTemp("", "switchboard-examples-"); err != nil {
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

// once runs a setup step once per test binary; every test asking for it
// waits for it and fails with its error.
type once struct {
	once sync.Once
	err  error
}

func (o *once) do(t *testing.T, f func() error) {
	t.Helper()
	o.once.Do(func() { o.err = f() })
	if o.err != nil {
		t.Fatal(o.err)
	}
}

var (
	setupMu sync.Mutex
	setups  = map[string]*once{}
)

func setup(t *testing.T, key string, f func() error) {
	t.Helper()
	setupMu.Lock()
	o := setups[key]
	if o == nil {
		o = &once{}
		setups[key] = o
	}
	setupMu.Unlock()
	o.do(t, f)
}

// binary builds the command package pkg (relative to the module root) once
// and returns the path of the executable.
func binary(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(tmpDir, filepath.Base(pkg))
	setup(t, "build "+pkg, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./"+pkg)
		cmd.Dir = repoRoot()
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./%s: %v\n%s", pkg, err, b)
		}
		return nil
	})
	return out
}

// nodeModules makes sure the locked npm dependencies of dir (relative to the
// module root) are installed, running npm ci once when module is missing.
func nodeModules(t *testing.T, dir, module string) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is required by the examples' tests: %v", err)
	}
	dir = filepath.Join(repoRoot(), dir)
	setup(t, "npm ci "+dir, func() error {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", module)); err == nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, b)
		}
		return nil
	})
}

// testContext returns the context of a test, canceled testTimeout after it
// began or once the test and all its cleanups ended: the processes started
// with it are stopped in the reverse order of their start (services before
// dev), unless the time runs out, which stops all of them at once.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// proc is a process started by a test and stopped at its end.
type proc struct {
	name           string
	cmd            *exec.Cmd
	cancel         context.CancelFunc // sends SIGTERM
	stdout, stderr testutil.SyncBuffer
	done           chan struct{} // closed when it exited
	err            error         // of Wait, once done
}

// start runs argv in dir (relative to the module root) until the test ends
// or ctx ends: then it gets SIGTERM, and SIGKILL stopTimeout later. Its
// output is logged if the test failed. With clean, a stop that is not a
// clean exit fails the test.
func start(t *testing.T, ctx context.Context, name, dir string, clean bool, argv ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	p := &proc{name: name, cancel: cancel, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	p.cmd.Dir = filepath.Join(repoRoot(), dir)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
	p.cmd.WaitDelay = stopTimeout
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done: // exited by itself, or stopped by the test
			if clean && p.err != nil && ctx.Err() == nil {
				t.Errorf("%s exited early: %v", name, p.err)
			}
		default:
			if st := p.stop(); clean && !st.Success() {
				t.Errorf("%s did not stop cleanly on SIGTERM: %v (%v)", name, st, p.err)
			}
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", name, p.stdout.String(), name, p.stderr.String())
		}
	})
	return p
}

// stop sends SIGTERM (SIGKILL stopTimeout later) and returns how it exited.
// (The error of Wait after a successful exit is the ctx's: ask the state.)
func (p *proc) stop() *os.ProcessState {
	p.cancel()
	<-p.done // bounded by WaitDelay
	return p.cmd.ProcessState
}

// waitFor waits until re matches p's stdout and returns the submatches.
func (p *proc) waitFor(t *testing.T, ctx context.Context, re *regexp.Regexp) []string {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(p.stdout.String()); m != nil {
			return m
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before printing %s", p.name, p.err, re)
		case <-ctx.Done():
			t.Fatalf("%s did not print %s: %v", p.name, re, ctx.Err())
		case <-tick.C:
		}
	}
}

var (
	reSocketIO = regexp.MustCompile(`(?m)^  Socket\.IO: +(\S+)$`)
	reNATS     = regexp.MustCompile(`(?m)^  NATS: +(\S+)$`)
	reReady    = regexp.MustCompile(`(?m)^READY$`)
)

// dev is a running `switchboard dev`.
type dev struct {
	socketIO string // http://127.0.0.1:port/socket.io/
	nats     string // nats://127.0.0.1:port
	proc     *proc
}

// startDev runs `switchboard dev` serving /chat, on loopback ports it
// chooses, and parses its banner.
func startDev(t *testing.T, ctx context.Context) dev {
	t.Helper()
	bin := binary(t, "cmd/switchboard")
	p := start(t, ctx, "switchboard dev", ".", false, bin, "dev",
		"--addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--namespace", "/chat")
	sio := p.waitFor(t, ctx, reSocketIO)[1]
	return dev{socketIO: sio, nats: p.waitFor(t, ctx, reNATS)[1], proc: p}
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
