package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testutil"
)

// TestMain lets the test binary act as the switchboard binary for the tests
// that exercise main itself (signals, exit status): with
// SWITCHBOARD_TEST_MAIN=1 it runs main with the arguments it was given.
func TestMain(m *testing.M) {
	if os.Getenv("SWITCHBOARD_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// command returns the test binary set up to run main with args.
func command(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_MAIN=1")
	return cmd
}

// TestSIGTERM runs the binary, waits until it is ready, sends SIGTERM and
// expects a clean exit with status 0.
func TestSIGTERM(t *testing.T) {
	cmd := command(t, "dev", "--addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(testutil.SyncBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// Read the banner; keep draining stdout so the child never blocks on it.
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	var admin string
	deadline := time.After(15 * time.Second)
	for admin == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("exited before serving; stderr:\n%s", stderr.String())
			}
			if m := reAdmin.FindStringSubmatch(l + " "); m != nil {
				admin = m[1]
			}
		case <-deadline:
			t.Fatalf("no banner; stderr:\n%s", stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	c := newHTTPClient(t)
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		status, _, err := getStatus(c, admin+"/readyz")
		if err == nil && status != http.StatusOK {
			err = errorf("readyz %d", status)
		}
		return err
	})
	c.Transport.(*http.Transport).CloseIdleConnections()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after SIGTERM; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// TestExitStatus: invalid settings exit 2 with the message on stderr and
// nothing on stdout.
func TestExitStatus(t *testing.T) {
	addr := freeAddr(t)
	cmd := command(t, "dev", "--addr", addr, "--nats-listen", "127.0.0.1:0", "--ping-timeout", "0")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2", err)
	}
	if want := "switchboard: invalid configuration: --ping-timeout: must be greater than zero, got 0s\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q", stdout.String())
	}
	notListening(t, addr)

	// --help exits 0.
	cmd = command(t, "--help")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Run(); err != nil {
		t.Errorf("--help: %v", err)
	}
}
