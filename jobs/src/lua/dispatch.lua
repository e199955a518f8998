-- ARGV: prefix, worker, max_running_user, class...
-- Moves due retries back to the front of their queues, then takes the next job of the user
-- with the fewest started (skipping users at their running limit, unless the job is an
-- admin's),
-- records it in the work stream and claims it for `worker` in one step, so the lease is the
-- stream's pending entry. With the work group gone (a Redis that lost its data), it only
-- creates the group again and takes nothing: no write happens before that check.
local worker, max_running = ARGV[2], tonumber(ARGV[3])
local work = k(K.work)
-- (XPENDING's summary answers NOGROUP when the group or the stream is gone.)
if not pcall(redis.call, 'XPENDING', work, WORKERS) then
  redis.call('XGROUP', 'CREATE', work, WORKERS, '$', 'MKSTREAM')
  return false
end
local now = now_ms()
redis.call('HSET', k(K.workers), worker, tostring(now))
for _, job in ipairs(redis.call('ZRANGEBYSCORE', k(K.delayed), '-inf', now)) do
  redis.call('ZREM', k(K.delayed), job)
  local user, class = unpack(redis.call('HMGET', k(K.job, job), 'user', 'class'))
  if user and class then
    if redis.call('LPUSH', k(K.pending, class, user), job) == 1 then
      redis.call('RPUSH', k(K.ring, class), user)
    end
  end
end
for c = 4, #ARGV do
  local class = ARGV[c]
  local ring = k(K.ring, class)
  -- The waiting user with the fewest jobs started (since they last had nothing queued or
  -- running) goes first, the earliest in the ring among equals: nobody's second job starts
  -- while someone's first waits.
  local chosen, fewest
  for _, user in ipairs(redis.call('LRANGE', ring, 0, -1)) do
    local head = redis.call('LINDEX', k(K.pending, class, user), 0)
    if not head then
      redis.call('LREM', ring, 0, user)
    else
      local admin = redis.call('HGET', k(K.job, head), 'admin') == '1'
      local running = tonumber(redis.call('GET', k(K.count, 'running', user)) or '0')
      if admin or running < max_running then
        local served = tonumber(redis.call('GET', k(K.count, 'served', user)) or '0')
        if not chosen or served < fewest then chosen, fewest = user, served end
        if served == 0 then break end
      end
    end
  end
  if chosen then
    local user = chosen
    local pending = k(K.pending, class, user)
    redis.call('LREM', ring, 1, user)
    local job = redis.call('LPOP', pending)
    if redis.call('LLEN', pending) > 0 then redis.call('RPUSH', ring, user) end
    decr_user(k(K.count, 'queued', user))
    incr(k(K.count, 'queued'), -1)
    incr(k(K.count, 'running', user), 1)
    incr(k(K.count, 'running'), 1)
    incr(k(K.count, 'served', user), 1)
    local attempt = redis.call('HINCRBY', k(K.job, job), 'attempts', 1)
    local entry = redis.call('XADD', work, '*', 'job', job)
    redis.call('XREADGROUP', 'GROUP', WORKERS, worker, 'COUNT', 1, 'STREAMS', work, '>')
    redis.call('HSET', k(K.job, job), 'state', 'running', 'worker', worker, 'lease', entry,
      'started_ms', tostring(now))
    event({kind = 'started', job = job, user = user, worker = worker, attempt = attempt})
    return {job, entry}
  end
end
return false
