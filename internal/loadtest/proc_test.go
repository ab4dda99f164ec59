package loadtest

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tnode\nVmPeak:\t  900 kB\nVmRSS:\t   54321 kB\nRssAnon:\t 1 kB\n"
	got, err := parseVmRSS([]byte(status))
	if err != nil || got != 54321*1024 {
		t.Fatalf("parseVmRSS = %d, %v", got, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tx kB\n"} {
		if _, err := parseVmRSS([]byte(bad)); err == nil {
			t.Errorf("parseVmRSS(%q) succeeded", bad)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 11 0 123 456 789\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 3800*time.Millisecond {
		t.Fatalf("parseStatCPU = %v, %v; want 3.8s", got, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 a b c"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("parseStatCPU(%q) succeeded", bad)
		}
	}
}

func TestSampleProcs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	u, err := sampleProcs([]int{os.Getpid(), os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	one, _ := sampleProcs([]int{os.Getpid()})
	if one.rss == 0 || u.rss < one.rss {
		t.Fatalf("rss one=%d two=%d", one.rss, u.rss)
	}
	if _, err := sampleProcs([]int{-1}); err == nil {
		t.Fatal("sampling pid -1 succeeded")
	}
}

func TestParseMachineBusy(t *testing.T) {
	stat := "cpu  100 5 50 9000 20 1 4 0 7 0\ncpu0 50 2 25 4500 10 0 2 0 0 0\n"
	got, err := parseMachineBusy([]byte(stat))
	if err != nil || got != 1600*time.Millisecond {
		t.Fatalf("parseMachineBusy = %v, %v; want 1.6s", got, err)
	}
	if _, err := parseMachineBusy([]byte("intr 1 2 3\n")); err == nil {
		t.Fatal("parsed a line that is not cpu")
	}
}
