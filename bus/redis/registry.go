package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-rt/switchboard/bus"
	"github.com/switchboard-rt/switchboard/bus/redis/wire"
)

// The node registry is a Switchboard extension (Node peers neither read nor write it): the
// sorted set "<key>#sb#nodes" of node ids scored by their last heartbeat (unix milliseconds),
// and the hash "<key>#sb#nodes#tokens" of each id's instance token. Requests use it to name the
// Switchboard nodes that did not answer; New uses it to refuse a node id in use.

func (a *Adapter) registryKey() string { return a.key + "#sb#nodes" }
func (a *Adapter) tokensKey() string   { return a.key + "#sb#nodes#tokens" }

// gcAge is how old an entry gets before a heartbeat removes it from the registry.
func (a *Adapter) gcAge() time.Duration { return max(10*a.cfg.NodeTTL, time.Minute) }

// heartbeat refreshes the node's registry entry and removes long-dead entries.
func (a *Adapter) heartbeat(ctx context.Context) error {
	now := time.Now()
	var prev *goredis.StringCmd
	var old *goredis.StringSliceCmd
	cmds, _ := a.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		prev = p.HGet(ctx, a.tokensKey(), a.id)
		p.ZAdd(ctx, a.registryKey(), goredis.Z{Score: float64(now.UnixMilli()), Member: a.id})
		p.HSet(ctx, a.tokensKey(), a.id, a.token)
		old = p.ZRangeByScore(ctx, a.registryKey(), &goredis.ZRangeBy{
			Min: "-inf", Max: "(" + strconv.FormatInt(now.Add(-a.gcAge()).UnixMilli(), 10)})
		return nil
	})
	if err := firstErr(cmds); err != nil {
		return err
	}
	if t := prev.Val(); t != "" && t != a.token && a.registered {
		a.log.Error("bus/redis: another process registered this node id; node ids must be unique",
			"node", a.id)
	}
	a.registered = true
	if ids := old.Val(); len(ids) > 0 {
		_, err := a.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			p.ZRem(ctx, a.registryKey(), toAny(ids)...)
			p.HDel(ctx, a.tokensKey(), ids...)
			return nil
		})
		return err
	}
	return nil
}

// deregister removes the node's registry entry if it is still this instance's, within a
// second.
func (a *Adapter) deregister() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	tok, err := a.client.HGet(ctx, a.tokensKey(), a.id).Result()
	if err != nil || tok != a.token {
		return
	}
	_, _ = a.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZRem(ctx, a.registryKey(), a.id)
		p.HDel(ctx, a.tokensKey(), a.id)
		return nil
	})
}

// checkConflict runs once the node channel is subscribed. Another live process holds the id
// when the node channel has another subscriber, when some server already uses the id as its
// uid on "/", or when a fresh registry entry of another instance gets refreshed while we watch
// it (a live node whose subscriber is reconnecting). An entry that is not refreshed within a
// heartbeat interval is a node that died without Close: its id is taken over.
func (a *Adapter) checkConflict(ctx context.Context) error {
	counts, err := a.numsub(ctx, a.nodeChannel(), wire.SpecificResponseChannel(a.key, "/", a.id))
	if err != nil {
		return unavailable("PUBSUB NUMSUB", err)
	}
	if counts[0] > 1 || counts[1] > 0 {
		return fmt.Errorf("bus/redis: node id %q: another process is subscribed with it: %w", a.id, bus.ErrNodeIDConflict)
	}
	score, err := a.client.ZScore(ctx, a.registryKey(), a.id).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return unavailable("node registry", err)
	}
	last := time.UnixMilli(int64(score))
	if time.Since(last) >= a.cfg.NodeTTL {
		return nil
	}
	deadline := last.Add(a.cfg.HeartbeatInterval + a.cfg.HeartbeatInterval/2)
	for time.Now().Before(deadline) {
		if !sleepCtx(ctx, min(100*time.Millisecond, time.Until(deadline))) {
			return unavailable("node registry", ctx.Err())
		}
		s, err := a.client.ZScore(ctx, a.registryKey(), a.id).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return unavailable("node registry", err)
		}
		if s > score {
			return fmt.Errorf("bus/redis: node id %q: another process keeps its registry entry alive: %w", a.id, bus.ErrNodeIDConflict)
		}
	}
	return nil
}

// numsub returns PUBSUB NUMSUB of each channel, summed over the masters of a cluster (as the
// reference adapter counts servers).
func (a *Adapter) numsub(ctx context.Context, channels ...string) ([]int64, error) {
	out := make([]int64, len(channels))
	add := func(m map[string]int64) {
		for i, ch := range channels {
			out[i] += m[ch]
		}
	}
	if cc, ok := a.client.(*goredis.ClusterClient); ok {
		var mu sync.Mutex
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			m, err := c.PubSubNumSub(ctx, channels...).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			add(m)
			mu.Unlock()
			return nil
		})
		return out, err
	}
	m, err := a.client.PubSubNumSub(ctx, channels...).Result()
	if err != nil {
		return nil, err
	}
	add(m)
	return out, nil
}

// peerPlan is who a request of a namespace waits for.
type peerPlan struct {
	// need is the number of answers owed by the other subscribers of the request channel
	// (NUMSUB - 1), Node servers and Switchboard nodes alike.
	need int
	// known are the live Switchboard nodes subscribed to the namespace; each must answer.
	known []string
	// dead are registered nodes whose connection is gone: reported missing, not waited for.
	dead []string
}

// plan reads the registry and the subscription counts: two round trips.
func (n *namespace) plan(ctx context.Context) (peerPlan, error) {
	a := n.a
	var p peerPlan
	ids, err := a.client.ZRangeByScore(ctx, a.registryKey(), &goredis.ZRangeBy{
		Min: strconv.FormatInt(time.Now().Add(-a.cfg.NodeTTL).UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return p, err
	}
	chans := make([]string, 1, 1+2*len(ids))
	chans[0] = n.reqCh
	peers := ids[:0]
	for _, id := range ids {
		if id == a.id {
			continue
		}
		peers = append(peers, id)
		chans = append(chans, nodeChannel(a.key, id), wire.SpecificResponseChannel(a.key, n.name, id))
	}
	counts, err := a.numsub(ctx, chans...)
	if err != nil {
		return p, err
	}
	p.need = max(int(counts[0])-1, 0)
	for i, id := range peers {
		switch alive, inNsp := counts[1+2*i] > 0, counts[2+2*i] > 0; {
		case !alive && !inNsp:
			p.dead = append(p.dead, id)
		case inNsp:
			p.known = append(p.known, id)
		}
	}
	return p, nil
}

func firstErr(cmds []goredis.Cmder) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, goredis.Nil) {
			return err
		}
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
