// Package testutil holds helpers shared by the project's tests.
package testutil

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// CheckFor calls fn every interval until it returns nil or timeout passes,
// then fails the test with fn's last error.
func CheckFor(tb testing.TB, timeout, interval time.Duration, fn func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}

// NoLeaks fails the test if goroutines running code of module (other than
// test runners) are still alive after a grace period.
func NoLeaks(tb testing.TB, module string) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		leaked := moduleGoroutines(module)
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d goroutines leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// moduleGoroutines returns the stacks of goroutines running code of module,
// other than the test runner's own.
func moduleGoroutines(module string) []string {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	var out []string
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if !strings.Contains(g, module) {
			continue
		}
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testutil.moduleGoroutines") || strings.Contains(g, "testing.(*B)") {
			continue
		}
		out = append(out, g)
	}
	return out
}
