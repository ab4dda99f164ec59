package loadtest

import (
	"context"
	"time"
)

// phases holds the samples taken around a measured phase.
type phases struct {
	elapsed              time.Duration
	countStart, countEnd uint64 // the scenario's unit of work (messages, acks)
	sentStart, sentEnd   uint64 // what the driving loop reports it sent
	server0, server1     procUsage
	self0, self1         procUsage
}

// runPhases runs loop through the warmup, calls onMeasure, then samples the
// server and this process, runs loop for duration and samples again. loop
// returns the total it has sent so far; count reads the scenario's running
// total of completed work.
func runPhases(ctx context.Context, pids []int, warmup, duration time.Duration,
	onMeasure func(), count func() uint64,
	loop func(ctx context.Context, end time.Time) (uint64, error),
) (phases, error) {
	var p phases
	if warmup > 0 {
		n, err := loop(ctx, time.Now().Add(warmup))
		if err != nil {
			return p, err
		}
		p.sentStart = n
	}
	onMeasure()
	var err error
	if p.server0, err = sampleProcs(pids); err != nil {
		return p, err
	}
	p.self0 = sampleSelf()
	p.countStart = count()
	t0 := time.Now()
	if p.sentEnd, err = loop(ctx, t0.Add(duration)); err != nil {
		return p, err
	}
	p.elapsed = time.Since(t0)
	p.countEnd = count()
	if p.server1, err = sampleProcs(pids); err != nil {
		return p, err
	}
	p.self1 = sampleSelf()
	return p, nil
}

// Usage is the CPU spent during a measured phase.
type Usage struct {
	// ServerCPU is the servers' utime+stime (10 ms resolution).
	ServerCPU time.Duration `json:"server_cpu_ns"`
	// ServerCPUPerMillion is ServerCPU in seconds per million units of
	// work (messages delivered, acks received).
	ServerCPUPerMillion float64 `json:"server_cpu_s_per_million"`
	// ServerCores is ServerCPU divided by the elapsed time.
	ServerCores float64 `json:"server_cores"`
	// ClientCores is this process's CPU time divided by the elapsed time:
	// near the cores it may use, the load generator is the bottleneck.
	ClientCores float64 `json:"client_cores"`
	// OtherCores is the rest of the machine's busy time (from /proc/stat,
	// so it includes interrupt work) divided by the elapsed time: well
	// above zero, something else competed for the CPUs and the run is
	// suspect.
	OtherCores float64 `json:"other_cores"`
}

// fill computes u from the samples; work is the units completed.
func (p phases) fill(u *Usage, work uint64, haveServer bool) {
	secs := p.elapsed.Seconds()
	if secs <= 0 {
		return
	}
	u.ClientCores = (p.self1.cpu - p.self0.cpu).Seconds() / secs
	u.ServerCPU = p.server1.cpu - p.server0.cpu
	u.ServerCores = u.ServerCPU.Seconds() / secs
	other := (p.self1.all - p.self0.all - p.self1.cpu + p.self0.cpu - u.ServerCPU).Seconds() / secs
	u.OtherCores = max(other, 0)
	if !haveServer {
		return
	}
	if work > 0 {
		u.ServerCPUPerMillion = u.ServerCPU.Seconds() / float64(work) * 1e6
	}
}
