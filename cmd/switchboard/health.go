package main

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
)

// check is one readiness condition: nil when satisfied, else why not.
type check struct {
	name string
	fn   func() error
}

// health answers /healthz and /readyz.
//
// /healthz is 200 as long as the process runs (liveness).
// /readyz is 200 when the node serves Socket.IO, is not shutting down, and
// every check passes (edge: connected to NATS; dev: the embedded NATS server
// runs); otherwise 503. Both carry a JSON body naming each condition.
type health struct {
	serving  atomic.Bool
	draining atomic.Bool
	checks   []check
}

type readyReport struct {
	Status string            `json:"status"` // "ready" or "not ready"
	Checks map[string]string `json:"checks"` // condition → "ok" or what is wrong
}

func (h *health) report() (readyReport, bool) {
	r := readyReport{Checks: make(map[string]string, len(h.checks)+1)}
	ok := true
	switch {
	case h.draining.Load():
		r.Checks["server"] = "shutting down"
		ok = false
	case !h.serving.Load():
		r.Checks["server"] = "not serving yet"
		ok = false
	default:
		r.Checks["server"] = "ok"
	}
	for _, c := range h.checks {
		if err := c.fn(); err != nil {
			r.Checks[c.name] = err.Error()
			ok = false
		} else {
			r.Checks[c.name] = "ok"
		}
	}
	r.Status = "ready"
	if !ok {
		r.Status = "not ready"
	}
	return r, ok
}

func (h *health) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	r, ok := h.report()
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, r)
}

func (h *health) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
