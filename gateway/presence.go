package gateway

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-rt/switchboard/contract"
	"github.com/switchboard-rt/switchboard/presence"
)

// cmdPresence answers P.cmd.presence from the cluster-wide presence store:
// {"ns","room"?,"user"?,"limit"?,"cursor"?} → {"count","users","members",
// "next"?}. No node is asked: the store answers alone.
func (g *Gateway) cmdPresence(m *nats.Msg) {
	const name = "presence"
	r := g.srv.Presence()
	if r == nil {
		g.respondError(m, name, contract.CodeUnavailable, "presence is not enabled on this edge")
		return
	}
	var q presence.Query
	if !g.decode(m, name, &q) {
		return
	}
	if q.NS == "" {
		q.NS = "/"
	}
	q, err := q.Normalize()
	if err != nil {
		g.respondError(m, name, contract.CodeBadRequest, err.Error())
		return
	}
	g.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.RequestTimeout)
		defer cancel()
		page, err := r.Query(ctx, q)
		switch {
		case err == nil:
			g.respond(m, name, page, "")
		case errors.Is(err, presence.ErrLimit):
			g.respondError(m, name, contract.CodeTooLarge, err.Error())
		case errors.Is(err, presence.ErrInvalid), errors.Is(err, presence.ErrBadCursor):
			g.respondError(m, name, contract.CodeBadRequest, err.Error())
		default:
			g.respondError(m, name, contract.CodeUnavailable, err.Error())
		}
	})
}

// PublishPresence publishes a presence change: join and leave on
// P.presence.<ns>.<room>, online and offline on P.user.<ns>. Wire it as the
// presence tracker's OnEvent: the tracker emits each change once
// cluster-wide.
func (g *Gateway) PublishPresence(ev presence.Event) {
	subject := g.subj.Presence(ev.NS, ev.Room)
	if ev.Action == presence.ActionOnline || ev.Action == presence.ActionOffline {
		subject = g.subj.User(ev.NS)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	if err := g.nc.Publish(subject, body); err != nil {
		g.cfg.Logger.Warn("gateway: publish presence event", "subject", subject, "error", err)
	}
}
