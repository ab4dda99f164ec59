package engine

// The heartbeat is one runtime timer per session. Armed for PingInterval it
// sends a ping; armed for PingTimeout while a pong is awaited it closes the
// session. Like the reference, the next ping is scheduled PingInterval after
// the pong arrives, and while a pong is awaited the first packet of another
// kind re-arms the timeout once, so a client busy sending is not timed out.

import "time"

func (s *Session) startHeartbeat() {
	s.mu.Lock()
	if s.state == stateOpen {
		s.timer = time.AfterFunc(s.srv.cfg.PingInterval, s.onTimer)
	}
	s.mu.Unlock()
}

func (s *Session) onTimer() {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	if s.awaitingPong {
		s.mu.Unlock()
		s.close(ReasonPingTimeout, false)
		return
	}
	s.awaitingPong = true
	s.graceUsed = false
	s.timer.Reset(s.srv.cfg.PingTimeout)
	s.mu.Unlock()
	// The timer's goroutine may block on this client: write it directly.
	_ = s.SendNow(pingFrame)
}

func (s *Session) pong() {
	s.mu.Lock()
	if s.state == stateOpen && s.awaitingPong {
		s.awaitingPong = false
		s.timer.Reset(s.srv.cfg.PingInterval)
	}
	s.mu.Unlock()
}

func (s *Session) graceHeartbeat() {
	s.mu.Lock()
	if s.state == stateOpen && s.awaitingPong && !s.graceUsed {
		s.graceUsed = true
		s.timer.Reset(s.srv.cfg.PingTimeout)
	}
	s.mu.Unlock()
}
