// Package redistest runs private redis-server processes for tests: each on
// a free loopback port, with nothing kept on disk, stopped when the test
// ends. Tests never touch a Redis the machine may already run.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a redis-server process owned by a test.
type Server struct {
	tb   testing.TB
	port int
	dir  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Binary returns the redis-server path, or "" when it is not installed.
func Binary() string {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return ""
	}
	return p
}

// Start runs a redis-server on a free loopback port until the test ends.
// The test fails when redis-server is not installed: .ci/run installs it.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if Binary() == "" {
		tb.Fatal("redistest: redis-server not found in PATH (apt-get install -y redis-server)")
	}
	s := &Server{tb: tb, port: FreePort(tb), dir: tb.TempDir()}
	s.start()
	tb.Cleanup(s.Stop)
	return s
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL returns the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Port returns the server's port.
func (s *Server) Port() int { return s.port }

func (s *Server) start() {
	s.tb.Helper()
	cmd := exec.Command(Binary(),
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--loglevel", "warning", "--logfile", filepath.Join(s.dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("redistest: start redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := s.Ping(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.tb.Fatalf("redistest: redis-server on %s not ready: %s", s.Addr(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ping sends PING over a fresh connection.
func (s *Server) Ping() error {
	out, err := s.Do("PING")
	if err != nil {
		return err
	}
	if out != "+PONG" {
		return fmt.Errorf("redistest: PING answered %q", out)
	}
	return nil
}

// Do sends one inline command over a fresh connection and returns the first
// reply line (e.g. "+OK", ":3"). It serves tests that must inspect or poke
// the server without a client library (FLUSHALL, DBSIZE, CLIENT KILL).
func (s *Server) Do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// Stop kills the server (like a crash: no save, clients see the connection
// drop) and waits for it to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Restart stops the server and starts a new, empty one on the same port.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.start()
}
