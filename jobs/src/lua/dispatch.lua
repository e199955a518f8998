-- ARGV: prefix, worker, now_ms, max_running_user, class...
-- Moves due retries back to the front of their queues, then takes the next job round-robin
-- across users (skipping users at their running limit), records it in the work stream and
-- claims it for `worker` in one step, so the lease is the stream's pending entry.
local worker, now, max_running = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('HSET', k('workers'), worker, tostring(now))
for _, job in ipairs(redis.call('ZRANGEBYSCORE', k('delayed'), '-inf', now)) do
  redis.call('ZREM', k('delayed'), job)
  local user, class = unpack(redis.call('HMGET', k('job', job), 'user', 'class'))
  if user and class then
    if redis.call('LPUSH', k('pending', class, user), job) == 1 then
      redis.call('RPUSH', k('ring', class), user)
    end
  end
end
for c = 5, #ARGV do
  local class = ARGV[c]
  local ring = k('ring', class)
  for _ = 1, redis.call('LLEN', ring) do
    local user = redis.call('LPOP', ring)
    if not user then break end
    local running = tonumber(redis.call('GET', k('count', 'running', user)) or '0')
    local admin = redis.call('SISMEMBER', k('admins'), user) == 1
    if running >= max_running and not admin then
      redis.call('RPUSH', ring, user)
    else
      local pending = k('pending', class, user)
      local job = redis.call('LPOP', pending)
      if redis.call('LLEN', pending) > 0 then redis.call('RPUSH', ring, user) end
      if job then
        incr(k('count', 'queued'), -1)
        incr(k('count', 'queued', user), -1)
        incr(k('count', 'running', user), 1)
        incr(k('count', 'running'), 1)
        local attempt = redis.call('HINCRBY', k('job', job), 'attempts', 1)
        local entry = redis.call('XADD', k('work'), '*', 'job', job)
        redis.call('XREADGROUP', 'GROUP', 'workers', worker, 'COUNT', 1, 'STREAMS', k('work'), '>')
        redis.call('HSET', k('job', job), 'state', 'running', 'worker', worker, 'lease', entry,
          'started_ms', tostring(now), 'cancel', '0')
        event(job, user, 'started', 'worker', worker, 'attempt', tostring(attempt))
        return {job, entry}
      end
    end
  end
end
return false
