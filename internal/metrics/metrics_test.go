package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard-rt/switchboard/edge"
)

// value returns the value of the series name{labels} gathered from g, and
// whether it exists.
func value(t testing.TB, g prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	if len(labels)%2 != 0 {
		t.Fatalf("labels must be name/value pairs: %q", labels)
	}
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels)/2 {
				continue
			}
			for i := 0; i < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func hasLabel(m *dto.Metric, name, val string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == val {
			return true
		}
	}
	return false
}

func want(t testing.TB, g prometheus.Gatherer, exp float64, name string, labels ...string) {
	t.Helper()
	got, ok := value(t, g, name, labels...)
	if !ok {
		t.Fatalf("%s%q: no such series", name, labels)
	}
	if got != exp {
		t.Fatalf("%s%q = %v, want %v", name, labels, got, exp)
	}
}

func TestSessions(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)

	m.SessionOpened("polling")
	m.SessionOpened("polling")
	m.SessionOpened("websocket")
	want(t, reg, 2, "switchboard_engine_sessions", "transport", "polling")
	want(t, reg, 1, "switchboard_engine_sessions", "transport", "websocket")
	want(t, reg, 2, "switchboard_engine_sessions_opened_total", "transport", "polling")
	want(t, reg, 1, "switchboard_engine_sessions_opened_total", "transport", "websocket")

	m.Upgraded() // one polling session moves to websocket
	want(t, reg, 1, "switchboard_engine_sessions", "transport", "polling")
	want(t, reg, 2, "switchboard_engine_sessions", "transport", "websocket")
	want(t, reg, 1, "switchboard_engine_upgrades_total")

	m.SessionClosed("websocket", "transport close")
	m.SessionClosed("websocket", "ping timeout")
	m.SessionClosed("polling", "transport close")
	want(t, reg, 0, "switchboard_engine_sessions", "transport", "polling")
	want(t, reg, 0, "switchboard_engine_sessions", "transport", "websocket")
	want(t, reg, 1, "switchboard_engine_sessions_closed_total", "transport", "websocket", "reason", "transport close")
	want(t, reg, 1, "switchboard_engine_sessions_closed_total", "transport", "websocket", "reason", "ping timeout")
	want(t, reg, 1, "switchboard_engine_sessions_closed_total", "transport", "polling", "reason", "transport close")
	// Opened counters do not move on close.
	want(t, reg, 2, "switchboard_engine_sessions_opened_total", "transport", "polling")

	m.UpgradeFailed("timeout")
	m.UpgradeFailed("timeout")
	m.UpgradeFailed("busy")
	want(t, reg, 2, "switchboard_engine_upgrade_failures_total", "reason", "timeout")
	want(t, reg, 1, "switchboard_engine_upgrade_failures_total", "reason", "busy")
}

func TestUnknownTransport(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.SessionOpened("webtransport")
	want(t, reg, 1, "switchboard_engine_sessions", "transport", "webtransport")
	want(t, reg, 1, "switchboard_engine_sessions_opened_total", "transport", "webtransport")
	m.SessionClosed("webtransport", "transport close")
	want(t, reg, 0, "switchboard_engine_sessions", "transport", "webtransport")
}

func TestTraffic(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.PacketsIn(3, 120)
	m.PacketsIn(0, 30) // a polling body is counted in bytes before its packets
	m.PacketsIn(2, 0)
	m.PacketsOut(5, 500)
	m.PacketsOut(1, 7)
	want(t, reg, 5, "switchboard_engine_packets_received_total")
	want(t, reg, 150, "switchboard_engine_received_bytes_total")
	want(t, reg, 6, "switchboard_engine_packets_sent_total")
	want(t, reg, 507, "switchboard_engine_sent_bytes_total")

	m.SlowConsumer()
	m.AckTimeout()
	m.AckTimeout()
	m.Panic()
	m.Error("parse_error")
	m.Error("parse_error")
	m.Error("unknown_sid")
	want(t, reg, 1, "switchboard_engine_slow_consumer_disconnects_total")
	want(t, reg, 2, "switchboard_ack_timeouts_total")
	want(t, reg, 1, "switchboard_handler_panics_total")
	want(t, reg, 2, "switchboard_errors_total", "kind", "parse_error")
	want(t, reg, 1, "switchboard_errors_total", "kind", "unknown_sid")
}

func TestSockets(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.SocketConnected("/")
	m.SocketConnected("/")
	m.SocketConnected("/chat")
	want(t, reg, 2, "switchboard_sockets", "namespace", "/")
	want(t, reg, 1, "switchboard_sockets", "namespace", "/chat")
	want(t, reg, 2, "switchboard_sockets_connected_total", "namespace", "/")

	m.SocketDisconnected("/", "client namespace disconnect")
	m.SocketDisconnected("/chat", "transport close")
	want(t, reg, 1, "switchboard_sockets", "namespace", "/")
	want(t, reg, 0, "switchboard_sockets", "namespace", "/chat")
	want(t, reg, 1, "switchboard_sockets_disconnected_total", "reason", "client namespace disconnect")
	want(t, reg, 1, "switchboard_sockets_disconnected_total", "reason", "transport close")
}

func TestNamespaceLabelsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	if _, ok := value(t, reg, "switchboard_sockets", "namespace", OtherNamespace); ok {
		t.Fatal("the _other series exists before it is needed")
	}
	for i := range MaxNamespaceLabels {
		m.SocketConnected(fmt.Sprintf("/dyn-%d", i))
	}
	m.SocketConnected("/late-1")
	m.SocketConnected("/late-2")
	m.SocketConnected("/dyn-0") // an early name keeps its own series
	want(t, reg, 2, "switchboard_sockets", "namespace", OtherNamespace)
	want(t, reg, 2, "switchboard_sockets", "namespace", "/dyn-0")
	if n := testutil.CollectAndCount(m.sockets); n != MaxNamespaceLabels+1 {
		t.Fatalf("%d namespace series, want %d", n, MaxNamespaceLabels+1)
	}
	m.SocketDisconnected("/late-1", "transport close")
	m.SocketDisconnected("/late-2", "transport close")
	want(t, reg, 0, "switchboard_sockets", "namespace", OtherNamespace)
}

func TestNilRegisterer(t *testing.T) {
	m := New(nil)
	m.SessionOpened("polling")
	if got := testutil.ToFloat64(m.sessionsPoll); got != 1 {
		t.Fatalf("sessions = %v, want 1", got)
	}
}

func TestDoubleRegistrationPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg)
	defer func() {
		if recover() == nil {
			t.Fatal("registering twice did not panic")
		}
	}()
	New(reg)
}

func TestNamesAndLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	// Touch every vector so it is gathered.
	m.SessionOpened("polling")
	m.SessionClosed("polling", "transport close")
	m.UpgradeFailed("timeout")
	m.Error("parse_error")
	m.SocketConnected("/")
	m.SocketDisconnected("/", "transport close")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != len(m.collectors()) {
		t.Fatalf("gathered %d families, want %d", len(mfs), len(m.collectors()))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "switchboard_") {
			t.Errorf("%s: missing switchboard_ prefix", mf.GetName())
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	const workers, rounds = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nsp := fmt.Sprintf("/w%d", w%3)
			for range rounds {
				m.SessionOpened("polling")
				m.Upgraded()
				m.SocketConnected(nsp)
				m.PacketsIn(1, 10)
				m.PacketsOut(2, 20)
				m.SocketDisconnected(nsp, "transport close")
				m.SessionClosed("websocket", "transport close")
			}
		}()
	}
	wg.Wait()
	want(t, reg, 0, "switchboard_engine_sessions", "transport", "polling")
	want(t, reg, 0, "switchboard_engine_sessions", "transport", "websocket")
	want(t, reg, workers*rounds, "switchboard_engine_upgrades_total")
	want(t, reg, workers*rounds, "switchboard_engine_packets_received_total")
	want(t, reg, workers*rounds*20, "switchboard_engine_sent_bytes_total")
	want(t, reg, 0, "switchboard_sockets", "namespace", "/w0")
}

// TestWithEdgeServer drives a real edge server over loopback HTTP and checks
// that its observations reach the registry.
func TestWithEdgeServer(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	srv := edge.New(edge.Config{Metrics: m})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	client := ts.Client()

	body := get(t, client, ts.URL+"/socket.io/?EIO=4&transport=polling")
	if !strings.HasPrefix(body, `0{"sid":"`) {
		t.Fatalf("handshake: %q", body)
	}
	sid := body[len(`0{"sid":"`):]
	sid = sid[:strings.IndexByte(sid, '"')]
	want(t, reg, 1, "switchboard_engine_sessions", "transport", "polling")
	want(t, reg, 1, "switchboard_engine_packets_sent_total")

	// Connect to the root namespace.
	resp, err := client.Post(ts.URL+"/socket.io/?EIO=4&transport=polling&sid="+sid, "text/plain", strings.NewReader("40"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if reply := get(t, client, ts.URL+"/socket.io/?EIO=4&transport=polling&sid="+sid); !strings.HasPrefix(reply, "40") {
		t.Fatalf("connect reply: %q", reply)
	}
	want(t, reg, 1, "switchboard_sockets", "namespace", "/")
	want(t, reg, 1, "switchboard_engine_packets_received_total")
	want(t, reg, 2, "switchboard_engine_received_bytes_total")

	// A request for an unknown session is an error of kind unknown_sid.
	_ = get(t, client, ts.URL+"/socket.io/?EIO=4&transport=polling&sid=nope")
	want(t, reg, 1, "switchboard_errors_total", "kind", "unknown_sid")
}

func get(t testing.TB, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func BenchmarkPackets(b *testing.B) {
	m := New(prometheus.NewRegistry())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.PacketsIn(1, 64)
			m.PacketsOut(1, 64)
		}
	})
}

func BenchmarkSocketConnected(b *testing.B) {
	m := New(prometheus.NewRegistry())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.SocketConnected("/chat")
			m.SocketDisconnected("/chat", "transport close")
		}
	})
}
