package engine

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard-rt/switchboard/protocol/engineio"
)

// compressThreshold is the body size from which polling responses are
// compressed when the client accepts it, as the reference does.
const compressThreshold = 1024

// upgradeNoopDelay is how long a GET waits during an upgrade before it is
// answered with a noop, freeing the client to pause polling.
const upgradeNoopDelay = 100 * time.Millisecond

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// handleGet serves a long-polling GET: it waits until something is queued,
// then writes everything queued as one payload.
func (s *Session) handleGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.getPending {
		s.mu.Unlock()
		s.srv.cfg.Metrics.Error("concurrent_poll")
		errBadRequest.write(w)
		s.close(ReasonTransportError, false)
		return
	}
	if s.transport != Polling {
		s.mu.Unlock()
		errBadRequest.write(w)
		return
	}
	s.getPending = true
	var noop <-chan time.Time
	for len(s.queue) == 0 && s.state == stateOpen && !s.noopPending && s.transport == Polling {
		if s.upgrading && noop == nil {
			t := time.NewTimer(upgradeNoopDelay)
			defer t.Stop()
			noop = t.C
		}
		s.mu.Unlock()
		select {
		case <-s.pollWake:
		case <-noop:
			s.mu.Lock()
			s.noopPending = true
			continue
		case <-r.Context().Done():
			s.mu.Lock()
			s.getPending = false
			s.mu.Unlock()
			s.close(ReasonTransportError, false)
			return
		}
		s.mu.Lock()
	}
	s.getPending = false
	var frames []Frame
	closing, recycle := false, false
	switch {
	case s.transport != Polling:
		// The upgrade completed while this GET waited: a client that follows
		// the protocol has paused polling, so this request is stale.
		s.getPending = false
		s.mu.Unlock()
		errBadRequest.write(w)
		return
	case s.state != stateOpen && s.clientClose:
		frames = []Frame{noopFrame}
		closing = true
	case s.state != stateOpen:
		frames = append(s.queue, closeFrame)
		s.queue, s.queueBytes = nil, 0
		closing = true
	case len(s.queue) == 0:
		frames = []Frame{noopFrame}
	default:
		frames = s.queue
		s.queue, s.queueBytes = s.spare[:0], 0
		s.spare = nil
		recycle = true
	}
	s.noopPending = false
	s.mu.Unlock()

	bp := bufPool.Get().(*[]byte)
	body := (*bp)[:0]
	for _, f := range frames {
		if len(body) > 0 {
			body = append(body, engineio.Separator)
		}
		if f.Binary {
			body = engineio.AppendText(body, engineio.Packet{Type: engineio.Message, Binary: true, Data: f.Data})
		} else {
			body = append(body, f.Data...)
		}
	}
	s.srv.cfg.Metrics.PacketsOut(len(frames), len(body))
	writePollBody(w, r, body)
	*bp = body
	bufPool.Put(bp)

	if recycle {
		clear(frames)
		s.mu.Lock()
		if s.spare == nil {
			s.spare = frames[:0]
		}
		s.mu.Unlock()
	}
	if closing {
		s.finish()
	}
}

func writePollBody(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	if len(body) >= compressThreshold {
		if enc := acceptedEncoding(r.Header.Get("Accept-Encoding")); enc != "" {
			var zb bytes.Buffer
			if compressTo(&zb, enc, body) == nil {
				h.Set("Content-Encoding", enc)
				h.Set("Vary", "Accept-Encoding")
				h.Set("Content-Length", strconv.Itoa(zb.Len()))
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(zb.Bytes())
				return
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func acceptedEncoding(accept string) string {
	for part := range strings.SplitSeq(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.Contains(params, "q=0") && !strings.Contains(params, "q=0.") {
			continue
		}
		switch strings.TrimSpace(name) {
		case "gzip":
			return "gzip"
		case "deflate":
			return "deflate"
		}
	}
	return ""
}

var (
	gzipPool  = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
	flatePool = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, flate.BestSpeed); return w }}
)

func compressTo(dst io.Writer, enc string, body []byte) error {
	type resetWriter interface {
		io.WriteCloser
		Reset(io.Writer)
	}
	pool := &gzipPool
	if enc == "deflate" {
		pool = &flatePool
	}
	zw := pool.Get().(resetWriter)
	defer pool.Put(zw)
	zw.Reset(dst)
	if _, err := zw.Write(body); err != nil {
		return err
	}
	return zw.Close()
}

// handlePost serves a long-polling POST: it decodes the payload and delivers
// its packets in order.
func (s *Session) handlePost(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt == "application/octet-stream" {
			// v4 sends binary as base64 text; a binary body is a v3 client or garbage.
			s.srv.cfg.Metrics.Error("invalid_content")
			errBadRequest.write(w)
			s.close(ReasonTransportError, false)
			return
		}
	}
	s.mu.Lock()
	if s.postPending {
		s.mu.Unlock()
		s.srv.cfg.Metrics.Error("concurrent_post")
		errBadRequest.write(w)
		s.close(ReasonTransportError, false)
		return
	}
	if s.state != stateOpen || s.transport != Polling {
		s.mu.Unlock()
		errBadRequest.write(w)
		return
	}
	s.postPending = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.postPending = false
		s.mu.Unlock()
	}()

	max := s.srv.cfg.MaxPayload
	if r.ContentLength > max {
		s.tooLarge(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		s.srv.cfg.Metrics.Error("post_read")
		w.WriteHeader(http.StatusBadRequest)
		s.close(ReasonTransportError, false)
		return
	}
	if int64(len(body)) > max {
		s.tooLarge(w)
		return
	}
	s.srv.cfg.Metrics.PacketsIn(0, len(body))
	if !utf8.Valid(body) {
		s.parseError(w)
		return
	}
	reason := ""
	n := 0
	err = engineio.DecodePayload(body, func(p engineio.Packet) error {
		n++
		if reason = s.onPacket(p); reason != "" {
			return errStop
		}
		return nil
	})
	s.srv.cfg.Metrics.PacketsIn(n, 0)
	if err != nil && err != errStop {
		s.parseError(w)
		return
	}
	writeOK(w)
	if reason != "" {
		s.close(reason, false)
	}
}

func (s *Session) tooLarge(w http.ResponseWriter) {
	// Like the reference: refuse the body, keep the session; the client
	// treats the failed POST as a transport error and reconnects.
	s.srv.cfg.Metrics.Error("payload_too_large")
	w.Header().Set("Connection", "close")
	http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
}

func (s *Session) parseError(w http.ResponseWriter) {
	s.srv.cfg.Metrics.Error("parse_error")
	errBadRequest.write(w)
	s.close(ReasonParseError, false)
}

func writeOK(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}

type stopError struct{}

func (stopError) Error() string { return "stop" }

var errStop error = stopError{}
