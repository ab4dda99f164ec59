package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// It is 100 on every mainstream Linux architecture; the Go standard library
// has no sysconf to ask.
const clockTicks = 100

// procUsage is a sample of one or more processes.
type procUsage struct {
	rss uint64        // resident set size, bytes
	cpu time.Duration // utime+stime
	all time.Duration // busy time of the whole machine (sampleSelf only)
}

// sampleProcs sums RSS and CPU time over pids, read from /proc. An empty list
// yields a zero sample.
func sampleProcs(pids []int) (procUsage, error) {
	var u procUsage
	for _, pid := range pids {
		rss, err := readRSS(strconv.Itoa(pid))
		if err != nil {
			return procUsage{}, err
		}
		cpu, err := readCPU(strconv.Itoa(pid))
		if err != nil {
			return procUsage{}, err
		}
		u.rss += rss
		u.cpu += cpu
	}
	return u, nil
}

// machineBusy returns the CPU time all CPUs spent not idle (everything in
// the first line of /proc/stat but idle and iowait), or zero if unreadable.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	d, _ := parseMachineBusy(b)
	return d
}

func parseMachineBusy(stat []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 8 || string(f[0]) != "cpu" {
		return 0, errors.New("loadtest: bad /proc/stat")
	}
	var busy uint64
	// user nice system idle iowait irq softirq steal [guest guest_nice]:
	// guest time is already counted in user and nice.
	for i, v := range f[1:min(len(f), 9)] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, errors.New("loadtest: bad /proc/stat")
		}
		busy += n
	}
	return time.Duration(busy) * (time.Second / clockTicks), nil
}

// sampleSelf samples this process; errors yield a zero sample (the figures
// it feeds are informational).
func sampleSelf() procUsage {
	rss, _ := readRSS("self")
	cpu, _ := readCPU("self")
	return procUsage{rss: rss, cpu: cpu, all: machineBusy()}
}

// readRSS returns VmRSS from /proc/<pid>/status in bytes.
func readRSS(pid string) (uint64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, fmt.Errorf("loadtest: read RSS: %w", err)
	}
	return parseVmRSS(b)
}

func parseVmRSS(status []byte) (uint64, error) {
	i := bytes.Index(status, []byte("VmRSS:"))
	if i < 0 {
		return 0, errors.New("loadtest: no VmRSS in /proc status")
	}
	line := status[i+len("VmRSS:"):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := bytes.Fields(line)
	if len(f) != 2 || string(f[1]) != "kB" {
		return 0, fmt.Errorf("loadtest: bad VmRSS line %q", line)
	}
	kb, err := strconv.ParseUint(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("loadtest: bad VmRSS line %q", line)
	}
	return kb * 1024, nil
}

// readCPU returns utime+stime from /proc/<pid>/stat.
func readCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("loadtest: read CPU time: %w", err)
	}
	return parseStatCPU(b)
}

func parseStatCPU(stat []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces, so
	// count fields from the last ')': state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("loadtest: bad /proc stat")
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("loadtest: short /proc stat")
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("loadtest: bad utime/stime in /proc stat")
	}
	return time.Duration(ut+st) * (time.Second / clockTicks), nil
}
