"""Lua scripts that keep a round's state consistent across instances.

Every key of one round shares the {quiz:<round>} hash tag, so each script runs in one slot.
Times are milliseconds given by the caller (the message's time, or the timer's clock).
"""

from __future__ import annotations

# Score one answer: first answer per member and question wins; late or malformed answers
# change nothing.
# KEYS: round, answers, scores, players, qstats.
# ARGV: member, question index (page rounds; in chat rounds -1 = the current one, and any other
#       index must be the current one: a button pressed on an earlier question's card is late),
#       choice letter,
#       now ms, display name, group id, page opened ms, "1" when the word was 对/错.
# Returns {status, question, correct (0/1), points[, question id]}; status: 1 counted,
#   0 no open round, 2 closed (late), 3 already answered, 4 not an option of this question.
ANSWER = """
local r = redis.call('HMGET', KEYS[1], 'state', 'mode', 'current', 'opened', 'deadline',
  'key', 'seconds', 'count', 'sizes', 'kinds')
if r[1] ~= 'open' then return {0, -1, 0, 0} end
local now = tonumber(ARGV[4])
local deadline = tonumber(r[5])
if now > deadline then return {2, -1, 0, 0} end
local q, opened, window
if r[2] == 'chat' then
  q = tonumber(r[3])
  local meant = tonumber(ARGV[2])
  if meant ~= nil and meant >= 0 and meant ~= q then return {2, -1, 0, 0} end
  opened = tonumber(r[4])
  window = deadline - opened
else
  q = tonumber(ARGV[2])
  if q == nil or q < 0 or q >= tonumber(r[8]) then return {4, -1, 0, 0} end
  opened = tonumber(ARGV[7])
  window = tonumber(r[7]) * 1000 * tonumber(r[8])
end
local choice = string.byte(ARGV[3]) - 64
if choice < 1 or choice > tonumber(string.sub(r[9], q + 1, q + 1)) then return {4, q, 0, 0} end
if ARGV[8] == '1' and string.sub(r[10], q + 1, q + 1) ~= 'T' then return {4, q, 0, 0} end
local elapsed = math.min(math.max(now - opened, 0), window)
local correct = ARGV[3] == string.sub(r[6], q + 1, q + 1)
local points = 0
if correct then
  points = 10
  if window > 0 then points = 10 + math.floor(5 * (window - elapsed) / window) end
end
local field = q .. ':' .. ARGV[1]
if redis.call('HSETNX', KEYS[2], field, ARGV[3] .. '|' .. elapsed .. '|' .. points) == 0 then
  return {3, q, 0, 0}
end
local member = ARGV[1]
redis.call('ZINCRBY', KEYS[3], points, member)
redis.call('HINCRBY', KEYS[4], member .. ':time', elapsed)
redis.call('HINCRBY', KEYS[4], member .. ':correct', correct and 1 or 0)
if ARGV[5] ~= '' then redis.call('HSETNX', KEYS[4], member .. ':name', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSETNX', KEYS[4], member .. ':group', ARGV[6]) end
redis.call('HINCRBY', KEYS[5], q .. ':answers', 1)
if correct then redis.call('HINCRBY', KEYS[5], q .. ':correct', 1) end
return {1, q, correct and 1 or 0, points, redis.call('HGET', KEYS[1], 'q' .. q)}
"""

# Close the current question when it is due (or when forced), open the next one or finish.
# KEYS: round. ARGV: now ms, "1" to close before the deadline, "1" to finish the round now,
#   the question index the caller means to close ("" = whichever is current).
# Returns {status, closed question, next deadline}; status: 0 no open round,
#   1 not due yet (or another caller closed that question), 2 closed and the next question
#   opened, 3 closed and the round finished. A close also marks its announcement as owed
#   ('owed' = "<question>:<now ms>") until the closer has posted it (ANNOUNCED).
CLOSE = """
local r = redis.call('HMGET', KEYS[1], 'state', 'mode', 'current', 'deadline', 'seconds',
  'count')
if r[1] ~= 'open' then return {0, -1, 0} end
local now = tonumber(ARGV[1])
local q = tonumber(r[3])
local deadline = tonumber(r[4])
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= q then return {1, q, deadline} end
if ARGV[2] ~= '1' and now < deadline then return {1, q, deadline} end
if r[2] == 'chat' and ARGV[3] ~= '1' and q + 1 < tonumber(r[6]) then
  local next_deadline = now + tonumber(r[5]) * 1000
  redis.call('HSET', KEYS[1], 'current', q + 1, 'opened', now, 'deadline', next_deadline,
    'owed', q .. ':' .. ARGV[1])
  return {2, q, next_deadline}
end
redis.call('HSET', KEYS[1], 'state', 'done', 'closed', now, 'owed', q .. ':' .. ARGV[1])
return {3, q, 0}
"""

# KEYS: round. ARGV: the owed mark a closer has announced. Clears it if it is still the
# round's; returns the round's state ("done" once finished).
ANNOUNCED = """
if redis.call('HGET', KEYS[1], 'owed') == ARGV[1] then redis.call('HDEL', KEYS[1], 'owed') end
return redis.call('HGET', KEYS[1], 'state')
"""
