package testserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard-rt/switchboard/internal/testserver"
)

// jsDir returns itest/js, installing its locked npm dependencies if needed.
func jsDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "itest", "js")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is required for the socket.io-client compatibility tests: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return dir
}

type result struct {
	Name  string  `json:"name"`
	OK    bool    `json:"ok"`
	Error string  `json:"error"`
	MS    float64 `json:"ms"`
}

// TestSocketIOClient runs every scenario of itest/js/run.mjs — the real
// socket.io-client 4.8 — against servers built on edge.
func TestSocketIOClient(t *testing.T) {
	dir := jsDir(t)
	plain := httptest.NewServer(testserver.New(testserver.Config(false)))
	defer plain.Close()
	rec := httptest.NewServer(testserver.New(testserver.Config(true)))
	defer rec.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "run.mjs", "--url", plain.URL, "--recovery-url", rec.URL)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output()

	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r result
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Name == "" {
			continue
		}
		n++
		t.Run(r.Name, func(t *testing.T) {
			if !r.OK {
				t.Errorf("scenario failed after %.0f ms: %s", r.MS, r.Error)
			}
		})
	}
	if n == 0 {
		t.Fatalf("no scenario results; stderr:\n%s\nstdout:\n%s", stderr.String(), out)
	}
	if t.Failed() && stderr.Len() > 0 {
		t.Logf("node stderr:\n%s", stderr.String())
	}
}

var _ http.Handler = testserver.New(testserver.Config(false))
