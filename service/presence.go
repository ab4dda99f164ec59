package service

import (
	"context"
	"errors"

	"github.com/switchboard-rt/switchboard/contract"
)

// Presence answers who is in a namespace, a room, or which sockets a user
// has, across the cluster, from the presence store (no node is asked):
// counts of the whole selection and one page of members. Continue with
// q.Cursor = reply.Next while Next is not empty.
func (c *Client) Presence(ctx context.Context, q contract.PresenceQuery) (*contract.PresenceReply, error) {
	if c == nil {
		return nil, errors.New("service: nil Client")
	}
	q.NS = normalizeNS(q.NS)
	var reply contract.PresenceReply
	if err := c.request(ctx, 0, "presence", q, &reply); err != nil {
		return nil, err
	}
	if err := checkReply(reply.Error, true, "presence"); err != nil {
		return nil, err
	}
	if reply.Members == nil {
		reply.Members = []contract.PresenceMember{}
	}
	return &reply, nil
}

// OnPresence calls fn for every join and leave in the rooms of namespace ns
// ("*" for every namespace), published once per change cluster-wide on
// P.presence.<ns>.<room>. The room is in the subject, see OnRoomPresence
// for one room.
func (c *Client) OnPresence(ns string, fn func(ctx context.Context, ev *contract.PresenceEvent)) (*Subscription, error) {
	return subscribeNotice(c, c.nsSubject("presence", ns)+".*", fn)
}

// OnRoomPresence calls fn for every join and leave of one room.
func (c *Client) OnRoomPresence(ns, room string, fn func(ctx context.Context, ev *contract.PresenceEvent)) (*Subscription, error) {
	return subscribeNotice(c, c.subj.Presence(normalizeNS(ns), room), fn)
}

// OnUserPresence calls fn when a user comes online (first socket) or goes
// offline (last socket) in namespace ns ("*" for every namespace).
func (c *Client) OnUserPresence(ns string, fn func(ctx context.Context, ev *contract.PresenceEvent)) (*Subscription, error) {
	return subscribeNotice(c, c.nsSubject("user", ns), fn)
}
