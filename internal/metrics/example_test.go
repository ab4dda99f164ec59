package metrics_test

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-rt/switchboard/edge"
	"github.com/switchboard-rt/switchboard/internal/metrics"
)

func Example() {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	srv := edge.New(edge.Config{Metrics: m})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	// The server reports to m; here we report by hand.
	m.SessionOpened("polling")
	m.SessionOpened("polling")
	m.Upgraded()
	n, _ := testutil.GatherAndCount(reg, "switchboard_engine_sessions")
	fmt.Println(n, "series")
	// Output: 2 series
}
