package edge

import (
	"sync"
	"time"

	"github.com/switchboard-rt/switchboard/protocol/socketio"
)

// pendingAck waits for one client acknowledgement.
type pendingAck struct {
	once  sync.Once
	timer *time.Timer
	fn    func(Args, error)
}

func (a *pendingAck) finish(args Args, err error) {
	a.once.Do(func() {
		if a.timer != nil {
			a.timer.Stop()
		}
		a.fn(args, err)
	})
}

// registerAck records a pending ack; it reports false if the socket is gone.
func (s *Socket) registerAck(id uint64, timeout time.Duration, fn func(Args, error)) bool {
	a := &pendingAck{fn: fn}
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return false
	}
	if s.acks == nil {
		s.acks = make(map[uint64]*pendingAck)
	}
	s.acks[id] = a
	if timeout > 0 {
		a.timer = time.AfterFunc(timeout, func() {
			if s.takeAck(id) == a {
				s.nsp.srv.cfg.Metrics.AckTimeout()
				a.finish(Args{}, ErrAckTimeout)
			}
		})
	}
	s.mu.Unlock()
	return true
}

func (s *Socket) takeAck(id uint64) *pendingAck {
	s.mu.Lock()
	a := s.acks[id]
	delete(s.acks, id)
	s.mu.Unlock()
	return a
}

func (s *Socket) dropAck(id uint64) {
	if a := s.takeAck(id); a != nil && a.timer != nil {
		a.timer.Stop()
	}
}

// onAck delivers an ACK from the client; unknown ids are ignored.
func (s *Socket) onAck(p *socketio.Packet) {
	if !p.HasID {
		return
	}
	a := s.takeAck(p.ID)
	if a == nil {
		return
	}
	args, err := newArgs(p.Data, false, p.Attachments)
	if err != nil {
		a.finish(Args{}, err)
		return
	}
	s.safelyNoDisconnect(func() { a.finish(args, nil) })
}
