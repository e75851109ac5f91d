"""The outbox's Lua scripts: each touches the keys of one shard only (one Cluster slot)."""

from __future__ import annotations

from bot.store.lua import Lua

# KEYS: urgent stream, normal stream, then one state key per delivery.
# ARGV: ttl, then per delivery its JSON and "1" when urgent. Returns the number queued.
ENQUEUE = Lua("""
local queued = 0
for i = 3, #KEYS do
  local j = (i - 3) * 2 + 2
  if redis.call('SET', KEYS[i], 'queued', 'NX', 'EX', ARGV[1]) then
    local stream = KEYS[2]
    if ARGV[j + 1] == '1' then stream = KEYS[1] end
    redis.call('XADD', stream, '*', 'd', ARGV[j], 'n', '0')
    queued = queued + 1
  end
end
return queued
""")

# KEYS: state, stream, dead stream, held stream, health, sim feed, sim counter.
# ARGV: group, entry id, outcome ("sent"|"parked"|"held"), state ttl, feed JSON ("" for none),
#       feed size, delivery JSON, reason, attempts, group id, health JSON, letters kept, parts.
# Returns 1 when this call recorded the delivery, 0 when it had been recorded already.
FINISH = Lua("""
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
local state = redis.call('GET', KEYS[1])
if state == 'sent' or state == 'parked' or state == 'held' then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
if ARGV[3] == 'parked' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[12], '*',
             'd', ARGV[7], 'reason', ARGV[8], 'n', ARGV[9])
elseif ARGV[3] == 'held' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[12], '*',
             'd', ARGV[7], 'reason', ARGV[8], 'n', ARGV[9], 's', ARGV[13])
end
if ARGV[11] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[10], ARGV[11])
elseif ARGV[3] == 'sent' then
  redis.call('HDEL', KEYS[5], ARGV[10])
end
if ARGV[5] ~= '' then
  local seq = redis.call('INCR', KEYS[7])
  redis.call('RPUSH', KEYS[6], '{"id":' .. seq .. ',' .. string.sub(ARGV[5], 2))
  redis.call('LTRIM', KEYS[6], -tonumber(ARGV[6]), -1)
end
return 1
""")

# KEYS: state. ARGV: new state, ttl. Sets it unless the delivery was recorded; 1 when set.
MARK = Lua("""
local state = redis.call('GET', KEYS[1])
if state == 'sent' or state == 'parked' or state == 'held' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
""")

# KEYS: stream, delayed set, state. ARGV: group, entry id, member JSON, delay (ms), state, ttl.
# Moves an entry still held in the stream to the delayed set; 0 when it was gone already.
DEFER = Lua("""
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if redis.call('XDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
local state = redis.call('GET', KEYS[3])
if state ~= 'sent' and state ~= 'parked' and state ~= 'held' then
  redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[6])
end
return 1
""")

# KEYS: delayed set, urgent stream, normal stream. ARGV: how many at most.
# Moves due deliveries back to their stream; returns ms until the next one is due, or -1.
PROMOTE = Lua("""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local entry = cjson.decode(member)
  local stream = KEYS[3]
  if entry.u == 1 then stream = KEYS[2] end
  redis.call('XADD', stream, '*', 'd', entry.d, 'n', tostring(entry.n), 's', tostring(entry.s))
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #next == 0 then return -1 end
return math.max(0, tonumber(next[2]) - now)
""")

# KEYS: state, stream, held stream. ARGV: delivery JSON, state ttl, parts sent, held entry id.
# Queues a parked or held delivery again (after its parts already sent) and drops its entry
# from the held stream (it no longer waits for an officer); 0 when it is neither.
REQUEUE = Lua("""
local state = redis.call('GET', KEYS[1])
if state ~= 'parked' and state ~= 'held' then return 0 end
redis.call('SET', KEYS[1], 'queued:' .. ARGV[3], 'EX', ARGV[2])
redis.call('XADD', KEYS[2], '*', 'd', ARGV[1], 'n', '0', 's', ARGV[3])
if ARGV[4] ~= '' then redis.call('XDEL', KEYS[3], ARGV[4]) end
return 1
""")

# KEYS: stream, dead stream. ARGV: group, entry id, raw entry, reason. Parks a foreign entry.
DISCARD = Lua("""
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'd', ARGV[3], 'reason', ARGV[4], 'n', '0')
return 1
""")

SCRIPTS = (ENQUEUE, FINISH, MARK, DEFER, PROMOTE, REQUEUE, DISCARD)
