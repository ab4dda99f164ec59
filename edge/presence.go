package edge

import (
	"github.com/switchboard-rt/switchboard/presence"
)

// Presence returns the cluster-wide presence reader of the server, nil when
// Config.Presence is not set.
func (srv *Server) Presence() presence.Reader {
	if srv.cfg.Presence == nil {
		return nil
	}
	return srv.cfg.Presence
}

// The tracker's write methods only queue (they never wait on the network),
// so these run on whatever goroutine changed the socket, with no lock held.

func (s *Socket) trackConnect(rooms []string) {
	t := s.nsp.srv.cfg.Presence
	if t == nil {
		return
	}
	if err := t.Connect(s.nsp.name, s.member()); err != nil {
		s.trackFailed("connect", err)
		return
	}
	s.trackJoin(rooms)
}

func (s *Socket) trackJoin(rooms []string) {
	t := s.nsp.srv.cfg.Presence
	if t == nil {
		return
	}
	if rooms = s.namedRooms(rooms); len(rooms) > 0 {
		if err := t.Join(s.nsp.name, s.id, rooms...); err != nil {
			s.trackFailed("join", err)
		}
	}
}

func (s *Socket) trackLeave(rooms []string) {
	t := s.nsp.srv.cfg.Presence
	if t == nil {
		return
	}
	if rooms = s.namedRooms(rooms); len(rooms) > 0 {
		if err := t.Leave(s.nsp.name, s.id, rooms...); err != nil {
			s.trackFailed("leave", err)
		}
	}
}

// trackIdentity re-registers the socket's data and user after a change.
func (s *Socket) trackIdentity() {
	t := s.nsp.srv.cfg.Presence
	if t == nil || !s.Connected() {
		return
	}
	if err := t.Connect(s.nsp.name, s.member()); err != nil {
		s.trackFailed("update", err)
	}
}

// member is the socket as presence records it.
func (s *Socket) member() presence.Member {
	return presence.Member{SID: s.id, Node: s.nsp.srv.NodeID(), Data: s.DataJSON(), User: s.User()}
}

func (s *Socket) trackDisconnect() {
	t := s.nsp.srv.cfg.Presence
	if t == nil {
		return
	}
	if err := t.Disconnect(s.nsp.name, s.id); err != nil {
		s.trackFailed("disconnect", err)
	}
}

// namedRooms leaves out the socket's own room: presence tracks the
// namespace membership instead.
func (s *Socket) namedRooms(rooms []string) []string {
	out := rooms[:0:0]
	for _, r := range rooms {
		if r != s.id && r != "" {
			out = append(out, r)
		}
	}
	return out
}

func (s *Socket) trackFailed(op string, err error) {
	s.nsp.srv.cfg.Metrics.Error("presence_" + op)
	s.nsp.srv.cfg.Logger.Debug("edge: presence update refused", "op", op, "nsp", s.nsp.name, "sid", s.id, "error", err)
}
