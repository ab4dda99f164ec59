package engine

import (
	"sync"
	"syscall"
	"time"
)

// Writing on the sender's goroutine.
//
// A session that has written nothing for inlineAfter gets its next frames
// written by the goroutine that sends them, with one non-blocking write(2),
// instead of being queued for the writer goroutine. At a low message rate
// (a broadcast every few milliseconds, a chat message) each frame needs a
// write of its own anyway, and handing it to the writer only adds a
// goroutine wake-up and switch per recipient: writing inline cuts the
// per-recipient cost of a paced broadcast to little more than the syscall.
// A busy session (written to within inlineAfter) keeps queueing, so that
// under load its writer still gathers many frames into one write.
//
// The write never blocks the sender: whatever the socket buffer does not take
// is queued, ahead of anything else, for the writer goroutine, which waits
// for the client with the usual write timeout.

// inlineAfter is how long a session must have been quiet for a frame to be
// written inline. Variable for tests.
var inlineAfter = 500 * time.Microsecond

// afterInlineWrite, when set by a test, runs between an inline write and
// the bookkeeping after it, with the bytes written.
var afterInlineWrite func(s *Session, wrote int)

// inlineMax bounds the bytes written inline; larger sends are queued.
const inlineMax = 16 << 10

var monoStart = time.Now()

// monoNow is a monotonic clock in nanoseconds.
func monoNow() int64 { return int64(time.Since(monoStart)) }

// rawWrite is one non-blocking write attempt; pooled with its method value
// so that an inline write allocates nothing.
type rawWrite struct {
	buf []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

var rawWritePool = sync.Pool{New: func() any {
	w := &rawWrite{buf: make([]byte, 0, 512)}
	w.fn = w.write
	return w
}}

func (w *rawWrite) write(fd uintptr) bool {
	for {
		w.n, w.err = syscall.Write(int(fd), w.buf)
		if w.err != syscall.EINTR {
			return true // never wait for the descriptor: the writer does that
		}
	}
}

// inlineOKLocked reports whether frames of n bytes may be written inline now.
func (s *Session) inlineOKLocked(n int) bool {
	return s.rc != nil && n <= inlineMax && !s.writing && len(s.queue) == 0 && !s.writerDone &&
		s.transport == WebSocket && !s.upgrading && monoNow()-s.lastWrite >= int64(inlineAfter)
}

// sendInlineLocked writes frames with one non-blocking write, queueing what
// the socket did not take. It is called with s.mu held, releases it during
// the write and returns with it released. It reports false if the
// connection failed (the session is then closed).
func (s *Session) sendInlineLocked(frames []Frame) bool {
	s.writing, s.idleMark = true, false
	s.mu.Unlock()

	w := rawWritePool.Get().(*rawWrite)
	w.buf = w.buf[:0]
	for i := range frames {
		w.buf = appendFrameHeader(w.buf, frames[i].opcode(), len(frames[i].Data))
		w.buf = append(w.buf, frames[i].Data...)
	}
	w.n, w.err = 0, nil
	err := s.rc.Write(w.fn)
	requeue := false
	switch {
	case err != nil:
		// The descriptor refused before any write: the write deadline the
		// writer set last has passed (it is refreshed only by the writer),
		// or the connection is closing. The writer handles both.
		requeue, err = true, nil
	case w.err == syscall.EAGAIN:
	default:
		err = w.err
	}
	wrote := max(w.n, 0)
	var rest []byte
	if err == nil && !requeue && wrote < len(w.buf) {
		rest = append([]byte(nil), w.buf[wrote:]...)
	}
	if cap(w.buf) <= 64<<10 {
		rawWritePool.Put(w)
	}
	if afterInlineWrite != nil {
		afterInlineWrite(s, wrote)
	}

	s.mu.Lock()
	s.writing = false
	if err != nil {
		s.mu.Unlock()
		// Closed on another goroutine: the sender may hold locks (a
		// broadcast iterating a room) that the close handlers need.
		s.srv.wg.Add(1)
		go func() {
			defer s.srv.wg.Done()
			s.close(ReasonTransportError, false)
		}()
		return false
	}
	if requeue {
		// Nothing was written: the frames go first, for the writer.
		q := make([]Frame, 0, len(frames)+len(s.queue))
		s.queue = append(append(q, frames...), s.queue...)
		for _, f := range frames {
			s.queueBytes += len(f.Data)
		}
		s.kickWriterLocked()
		s.mu.Unlock()
		return true
	}
	s.lastWrite = monoNow()
	if rest != nil {
		// The rest goes first: frames queued meanwhile come after it.
		s.queue = append(s.queue, Frame{})
		copy(s.queue[1:], s.queue)
		s.queue[0] = Frame{Data: rest, control: rawBytes}
		s.queueBytes += len(rest)
	}
	if len(s.queue) > 0 || s.state != stateOpen {
		s.kickWriterLocked()
	}
	s.mu.Unlock()
	// The frames count as sent now; a queued rest adds only its bytes.
	s.srv.cfg.Metrics.PacketsOut(len(frames), wrote)
	return true
}
