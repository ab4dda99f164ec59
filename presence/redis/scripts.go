package redis

import goredis "github.com/redis/go-redis/v9"

// The scripts make every change and its event decision atomic: an event is
// emitted only by the script whose HSET added, or HDEL removed, the entry, so
// exactly once however many nodes try. Keys are built inside the scripts
// from the prefix (ARGV[1]); see the key layout in doc.go. Every script that
// writes on a node's behalf first checks, with guard, that the node's view
// of Redis is still true: same epoch (Redis did not lose its state), same
// incarnation (the node was not taken for dead or replaced) and same write
// sequence (no write of the node was lost).

// prelude is shared by the scripts.
const prelude = `
local P = ARGV[1]
local function nk(ns) return #ns .. ':' .. ns end
local function mkey(ns, room) return P .. ':m:' .. nk(ns) .. ':' .. room end
local function ukey(ns, room) return P .. ':u:' .. nk(ns) .. ':' .. room end
local function uskey(ns, user) return P .. ':us:' .. nk(ns) .. ':' .. user end
local function skey(ns, sid) return P .. ':s:' .. nk(ns) .. ':' .. sid end
local function rkey(ns, sid) return P .. ':sr:' .. nk(ns) .. ':' .. sid end
local function nodekey(node) return P .. ':node:' .. node end
local function setkey(owner) return P .. ':ns:' .. owner end

local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- ev is the reply: a status, then events of 6 fields each.
local ev = {'ok'}
local nev = 1
local function emit(action, ns, room, sid, user, mj)
  ev[nev+1] = action ev[nev+2] = ns ev[nev+3] = room
  ev[nev+4] = sid ev[nev+5] = user ev[nev+6] = mj
  nev = nev + 6
end

-- keep stores a reply under id in hash k (kept 10 minutes, the last 32
-- ids), so that a caller whose reply was lost can fetch it again.
local function keep(k, id, reply)
  redis.call('HSET', k, id, cjson.encode(reply))
  redis.call('HDEL', k, tostring(tonumber(id) - 32))
  redis.call('PEXPIRE', k, 600000)
end

-- guard checks ARGV[2..5] = epoch, node, incarnation, write sequence.
local function guard()
  if redis.call('GET', P .. ':epoch') ~= ARGV[2] then return {'lost'} end
  local h = redis.call('HMGET', nodekey(ARGV[3]), 'inc', 'seq')
  if h[1] ~= ARGV[4] then
    if h[1] then return {'replaced'} end
    return {'reaped'}
  end
  if h[2] ~= ARGV[5] then return {'diverged'} end
  return nil
end

-- add puts sid in room ('' = the namespace itself).
local function add(ns, room, sid, user, mj, silent)
  if redis.call('HSET', mkey(ns, room), sid, mj) == 0 then return end
  if room == '' then
    if user ~= '' then
      redis.call('HSET', uskey(ns, user), sid, mj)
      if redis.call('HINCRBY', ukey(ns, ''), user, 1) == 1 and not silent then
        emit('online', ns, '', '', user, mj)
      end
    end
    return
  end
  redis.call('SADD', rkey(ns, sid), room)
  if user ~= '' then redis.call('HINCRBY', ukey(ns, room), user, 1) end
  if not silent then emit('join', ns, room, sid, user, mj) end
end

-- del takes sid out of room ('' = the namespace itself).
local function del(ns, room, sid, user, mj, silent)
  if redis.call('HDEL', mkey(ns, room), sid) == 0 then return end
  local last = false
  if user ~= '' and redis.call('HINCRBY', ukey(ns, room), user, -1) <= 0 then
    redis.call('HDEL', ukey(ns, room), user)
    last = true
  end
  if room == '' then
    if user ~= '' then redis.call('HDEL', uskey(ns, user), sid) end
    if last and not silent then emit('offline', ns, '', '', user, mj) end
    return
  end
  redis.call('SREM', rkey(ns, sid), room)
  if not silent then emit('leave', ns, room, sid, user, mj) end
end

-- drop removes socket sid of owner from its rooms and its namespace.
local function drop(ns, sid, owner, silent)
  local sk = skey(ns, sid)
  local r = redis.call('HMGET', sk, 'u', 'm')
  local user, mj = r[1] or '', r[2] or ''
  for _, room in ipairs(redis.call('SMEMBERS', rkey(ns, sid))) do
    del(ns, room, sid, user, mj, silent)
  end
  del(ns, '', sid, user, mj, silent)
  redis.call('DEL', sk, rkey(ns, sid))
  redis.call('SREM', setkey(owner), nk(ns) .. sid)
end
`

// writeScript applies a batch of one node's changes. ARGV: prefix, epoch,
// node, incarnation, sequence, then operations:
//
//	C ns sid user member silent   connect (adopting a record of another owner)
//	D ns sid                      disconnect
//	J ns sid room silent          join
//	L ns sid room                 leave
//	U ns sid member               new socket data
//
// Reply: 'ok' and events, or the guard's status. The reply is kept under
// the node's incarnation and sequence (resultScript); the same call made
// again (go-redis retries a pipeline whose connection broke) gets the kept
// reply instead of running again.
var writeScript = goredis.NewScript(prelude + `
local owner = ARGV[3] .. '@' .. ARGV[4]
local g = guard()
if g then
  -- the same call again (a client retry after a lost reply): its kept reply
  local kept = g[1] == 'diverged' and redis.call('HGET', P .. ':res:' .. owner, ARGV[5])
  if kept then return cjson.decode(kept) end
  return g
end
redis.call('HINCRBY', nodekey(ARGV[3]), 'seq', 1)
local i = 6
while i <= #ARGV do
  local op, ns, sid = ARGV[i], ARGV[i+1], ARGV[i+2]
  local sk = skey(ns, sid)
  if op == 'C' then
    local silent = ARGV[i+5] == '1'
    local o = redis.call('HGET', sk, 'o')
    if o and o ~= owner then drop(ns, sid, o, silent) end
    redis.call('HSET', sk, 'o', owner, 'u', ARGV[i+3], 'm', ARGV[i+4])
    redis.call('SADD', setkey(owner), nk(ns) .. sid)
    add(ns, '', sid, ARGV[i+3], ARGV[i+4], silent)
    i = i + 6
  elseif op == 'D' then
    if redis.call('HGET', sk, 'o') == owner then drop(ns, sid, owner, false) end
    i = i + 3
  elseif op == 'J' or op == 'L' then
    local r = redis.call('HMGET', sk, 'o', 'u', 'm')
    if r[1] == owner then
      if op == 'J' then
        add(ns, ARGV[i+3], sid, r[2], r[3], ARGV[i+4] == '1')
      else
        del(ns, ARGV[i+3], sid, r[2], r[3], false)
      end
    end
    if op == 'J' then i = i + 5 else i = i + 4 end
  elseif op == 'U' then
    local r = redis.call('HMGET', sk, 'o', 'u')
    if r[1] == owner then
      local mj = ARGV[i+3]
      redis.call('HSET', sk, 'm', mj)
      for _, room in ipairs(redis.call('SMEMBERS', rkey(ns, sid))) do
        redis.call('HSET', mkey(ns, room), sid, mj)
      end
      redis.call('HSET', mkey(ns, ''), sid, mj)
      if r[2] ~= '' then redis.call('HSET', uskey(ns, r[2]), sid, mj) end
    end
    i = i + 4
  else
    return redis.error_reply('presence: unknown operation ' .. tostring(op))
  end
end
keep(P .. ':res:' .. owner, ARGV[5], ev)
return ev
`)

// resultScript fetches the kept replies of write scripts whose replies were
// lost. ARGV: prefix, owner, sequences. Reply: per sequence, the write
// script's reply, or nil when that script did not run.
var resultScript = goredis.NewScript(`
local k = ARGV[1] .. ':res:' .. ARGV[2]
local out = {}
for i = 3, #ARGV do
  local v = redis.call('HGET', k, ARGV[i])
  if v then out[#out + 1] = cjson.decode(v) else out[#out + 1] = false end
end
return out
`)

// registerScript registers a new incarnation of a node. ARGV: prefix,
// candidate epoch, node, incarnation, lease ms, silent ('1': the previous
// incarnation's members are removed without events). The previous
// incarnation, if any, is queued for reaping. Reply: {epoch, previous
// owner or ""}.
var registerScript = goredis.NewScript(prelude + `
redis.call('SET', P .. ':epoch', ARGV[2], 'NX')
local e = redis.call('GET', P .. ':epoch')
local node = ARGV[3]
local old = redis.call('HGET', nodekey(node), 'inc')
local prev = ''
if old and old ~= ARGV[4] then
  prev = node .. '@' .. old
  redis.call('HSET', P .. ':reap', prev, ARGV[6])
end
redis.call('DEL', nodekey(node))
redis.call('HSET', nodekey(node), 'inc', ARGV[4], 'seq', '0')
redis.call('ZADD', P .. ':nodes', nowms() + tonumber(ARGV[5]), node)
return {e, prev}
`)

// heartbeatScript refreshes a node's lease and, when ARGV[7] is '1', claims
// the nodes whose lease expired (atomically: one claimer per dead node),
// queueing their incarnations for reaping. ARGV: prefix, epoch, node,
// incarnation, sequence, lease ms, claim. Reply: 'ok', the number of nodes
// claimed, then up to 8 owners waiting to be reaped; or the guard's status.
var heartbeatScript = goredis.NewScript(prelude + `
local g = guard()
if g then return g end
local now = nowms()
redis.call('ZADD', P .. ':nodes', now + tonumber(ARGV[6]), ARGV[3])
local claimed = 0
if ARGV[7] == '1' then
  local dead = redis.call('ZRANGEBYSCORE', P .. ':nodes', '-inf', '(' .. string.format('%d', now), 'LIMIT', 0, 100)
  for _, d in ipairs(dead) do
    redis.call('ZREM', P .. ':nodes', d)
    local inc = redis.call('HGET', nodekey(d), 'inc')
    redis.call('DEL', nodekey(d))
    if inc then
      redis.call('HSET', P .. ':reap', d .. '@' .. inc, '0')
      claimed = claimed + 1
    end
  end
end
local out = {'ok', claimed}
for _, o in ipairs(redis.call('HRANDFIELD', P .. ':reap', 8)) do out[#out+1] = o end
return out
`)

// deregisterScript is a graceful stop: it ends the lease and queues the
// node's incarnation for reaping (which the node then does itself). ARGV:
// prefix, epoch, node, incarnation. Reply: {'ok'}, or {'lost'} when Redis
// lost its state. An incarnation already taken for dead (or replaced) is
// queued already; calling again is harmless.
var deregisterScript = goredis.NewScript(prelude + `
if redis.call('GET', P .. ':epoch') ~= ARGV[2] then return {'lost'} end
if redis.call('HGET', nodekey(ARGV[3]), 'inc') == ARGV[4] then
  redis.call('ZREM', P .. ':nodes', ARGV[3])
  redis.call('DEL', nodekey(ARGV[3]))
end
local owner = ARGV[3] .. '@' .. ARGV[4]
if redis.call('EXISTS', setkey(owner)) == 1 then
  redis.call('HSETNX', P .. ':reap', owner, '0')
end
return ev
`)

// reapScript removes up to ARGV[3] sockets of a dead incarnation (ARGV[2],
// "node@incarnation") that are still its own, for reaper ARGV[4] (a token of
// the reaping process) as its call number ARGV[5]. Reply: 'more' or 'done',
// the number of sockets removed, the incarnation, events. The reply is kept:
// the same call number gets it again instead of another chunk, so a reaper
// whose reply was lost retries without losing the events. Several nodes may reap one incarnation at once: SPOP hands each
// socket to one of them.
var reapScript = goredis.NewScript(prelude + `
local owner = ARGV[2]
local rk = P .. ':rres:' .. ARGV[4]
local kept = redis.call('HGET', rk, ARGV[5])
if kept then return cjson.decode(kept) end
local mode = redis.call('HGET', P .. ':reap', owner)
local removed = 0
if mode then
  for _, ref in ipairs(redis.call('SPOP', setkey(owner), tonumber(ARGV[3]))) do
    local c = string.find(ref, ':', 1, true)
    local n = tonumber(string.sub(ref, 1, c - 1))
    local ns = string.sub(ref, c + 1, c + n)
    local sid = string.sub(ref, c + n + 1)
    if redis.call('HGET', skey(ns, sid), 'o') == owner then
      drop(ns, sid, owner, mode == '1')
      removed = removed + 1
    end
  end
end
if redis.call('EXISTS', setkey(owner)) == 0 then
  redis.call('HDEL', P .. ':reap', owner)
  ev[1] = 'done'
else
  ev[1] = 'more'
end
table.insert(ev, 2, removed)
table.insert(ev, 3, owner)
keep(rk, ARGV[5], ev)
return ev
`)
