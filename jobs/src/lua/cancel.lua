-- ARGV: prefix, job, user
-- Cancels a queued job at once and asks a running one to stop. Another user's job is
-- answered as not found.
local job, user = ARGV[2], ARGV[3]
local key = k(K.job, job)
local owner, state, class = unpack(redis.call('HMGET', key, 'user', 'state', 'class'))
if not owner or owner ~= user then return 'not_found' end
if state == 'queued' then
  local now = now_ms()
  local pending = k(K.pending, class, user)
  redis.call('LREM', pending, 0, job)
  redis.call('ZREM', k(K.delayed), job)
  if redis.call('LLEN', pending) == 0 then redis.call('LREM', k(K.ring, class), 0, user) end
  incr(k(K.count, 'queued'), -1)
  decr_user(k(K.count, 'queued', user))
  rest_if_idle(user)
  redis.call('HSET', key, 'state', 'cancelled', 'finished_ms', tostring(now))
  event({kind = 'cancelled', job = job, user = user})
  incr(k(K.count, 'outcome', 'cancelled'), 1)
  ended(job, now)
  return 'cancelled'
elseif state == 'running' then
  redis.call('HSET', key, 'cancel', '1')
  return 'cancelling'
end
return state
