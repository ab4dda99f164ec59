package loadtest

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// IdleReport is the result of Idle.
type IdleReport struct {
	Clients     int           `json:"clients"`
	Connected   int           `json:"connected"`
	Failed      int           `json:"failed"`
	ConnectWall time.Duration `json:"connect_wall_ns"`
	ConnectRate float64       `json:"connect_per_sec"` // achieved
	Connect     Latency       `json:"connect"`         // dial to namespace connected
	Warm        int           `json:"warm"`            // clients connected before the baseline
	Settle      time.Duration `json:"settle_ns"`
	// Server figures are zero without Config.ServerPIDs. ServerRSSPerConn
	// is the growth from the baseline (after Warm clients) per client
	// connected after it; ServerRSSPerConnAll is the growth from the start
	// per client connected.
	ServerRSSStart      uint64  `json:"server_rss_start_bytes"`
	ServerRSSBase       uint64  `json:"server_rss_base_bytes"`
	ServerRSSAfter      uint64  `json:"server_rss_after_bytes"`
	ServerRSSPerConn    float64 `json:"server_rss_per_conn_bytes"`
	ServerRSSPerConnAll float64 `json:"server_rss_per_conn_all_bytes"`
	ClientRSSPerConn    float64 `json:"client_rss_per_conn_bytes"` // this process, same method
	Dropped             int     `json:"dropped"`                   // disconnected while idle
	FirstError          string  `json:"first_error,omitempty"`
}

// BroadcastReport is the result of Broadcast.
type BroadcastReport struct {
	Clients       int           `json:"clients"`
	Joined        int           `json:"joined"`
	Failed        int           `json:"failed"`
	Rate          int           `json:"rate"` // requested broadcasts/s, 0 = max
	Window        int           `json:"window"`
	Elapsed       time.Duration `json:"elapsed_ns"` // measured phase
	Broadcasts    uint64        `json:"broadcasts"`
	BroadcastRate float64       `json:"broadcasts_per_sec"`
	Delivered     uint64        `json:"delivered"`
	DeliveredRate float64       `json:"delivered_per_sec"`
	Latency       Latency       `json:"latency"` // send to receive
	Usage
	Lost       uint64 `json:"lost"` // whole run, after the drain
	OutOfOrder uint64 `json:"out_of_order"`
	Malformed  uint64 `json:"malformed"`
	Dropped    int    `json:"dropped"` // clients disconnected during the run
	FirstError string `json:"first_error,omitempty"`
}

// AckReport is the result of Ack.
type AckReport struct {
	Clients   int           `json:"clients"`
	Connected int           `json:"connected"`
	Failed    int           `json:"failed"`
	InFlight  int           `json:"in_flight"`
	Elapsed   time.Duration `json:"elapsed_ns"` // measured phase
	Acks      uint64        `json:"acks"`
	AckRate   float64       `json:"acks_per_sec"`
	Latency   Latency       `json:"latency"` // emit to ack
	Usage
	Lost        uint64 `json:"lost"` // acks missing after the drain
	Malformed   uint64 `json:"malformed"`
	WriteErrors uint64 `json:"write_errors"`
	Dropped     int    `json:"dropped"`
	FirstError  string `json:"first_error,omitempty"`
}

// table renders label/value rows aligned.
type table struct {
	b  strings.Builder
	tw *tabwriter.Writer
}

func newTable(title string) *table {
	t := &table{}
	t.b.WriteString(title)
	t.b.WriteByte('\n')
	t.tw = tabwriter.NewWriter(&t.b, 0, 0, 2, ' ', 0)
	return t
}

func (t *table) row(label, format string, args ...any) {
	fmt.Fprintf(t.tw, "  %s\t%s\n", label, fmt.Sprintf(format, args...))
}

func (t *table) String() string {
	t.tw.Flush()
	return t.b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func (l Latency) String() string {
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
		ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), l.Count)
}

func kb(v float64) string { return fmt.Sprintf("%.1f KB", v/1024) }

func mb(v uint64) string { return fmt.Sprintf("%.1f MB", float64(v)/(1<<20)) }

func (u Usage) rows(t *table, unit string) {
	if u.ServerCPU > 0 {
		t.row("server CPU", "%.2f s (%.2f cores), %.2f s per 1M %s", u.ServerCPU.Seconds(), u.ServerCores, u.ServerCPUPerMillion, unit)
	}
	t.row("client CPU", "%.2f cores", u.ClientCores)
	t.row("other CPU", "%.2f cores (rest of the machine)", u.OtherCores)
}

func (r IdleReport) String() string {
	t := newTable(fmt.Sprintf("idle: %d clients", r.Clients))
	t.row("connected", "%d (%d failed, %d dropped)", r.Connected, r.Failed, r.Dropped)
	t.row("connect wall", "%.2f s (%.0f conn/s)", r.ConnectWall.Seconds(), r.ConnectRate)
	t.row("connect time", "%s", r.Connect)
	if r.ServerRSSAfter > 0 {
		t.row("server RSS", "%s at start, %s after %d warm clients, %s after %s idle",
			mb(r.ServerRSSStart), mb(r.ServerRSSBase), r.Warm, mb(r.ServerRSSAfter), r.Settle)
		t.row("server RSS/conn", "%s (%s counting from the start)", kb(r.ServerRSSPerConn), kb(r.ServerRSSPerConnAll))
	}
	t.row("client RSS/conn", "%s", kb(r.ClientRSSPerConn))
	if r.FirstError != "" {
		t.row("first error", "%s", r.FirstError)
	}
	return t.String()
}

func (r BroadcastReport) String() string {
	rate := "max"
	if r.Rate > 0 {
		rate = fmt.Sprintf("%d/s", r.Rate)
	}
	t := newTable(fmt.Sprintf("broadcast: %d clients, rate %s, window %d", r.Clients, rate, r.Window))
	t.row("joined", "%d (%d failed, %d dropped)", r.Joined, r.Failed, r.Dropped)
	t.row("measured", "%.2f s", r.Elapsed.Seconds())
	t.row("broadcasts", "%d (%.1f/s)", r.Broadcasts, r.BroadcastRate)
	t.row("delivered", "%d (%.0f msgs/s)", r.Delivered, r.DeliveredRate)
	t.row("latency", "%s", r.Latency)
	r.Usage.rows(t, "delivered")
	t.row("lost", "%d (out of order %d, malformed %d)", r.Lost, r.OutOfOrder, r.Malformed)
	if r.FirstError != "" {
		t.row("first error", "%s", r.FirstError)
	}
	return t.String()
}

func (r AckReport) String() string {
	t := newTable(fmt.Sprintf("ack: %d clients × %d in flight", r.Clients, r.InFlight))
	t.row("connected", "%d (%d failed, %d dropped)", r.Connected, r.Failed, r.Dropped)
	t.row("measured", "%.2f s", r.Elapsed.Seconds())
	t.row("acks", "%d (%.0f acks/s)", r.Acks, r.AckRate)
	t.row("latency", "%s", r.Latency)
	r.Usage.rows(t, "acks")
	t.row("lost", "%d (malformed %d, write errors %d)", r.Lost, r.Malformed, r.WriteErrors)
	if r.FirstError != "" {
		t.row("first error", "%s", r.FirstError)
	}
	return t.String()
}
