-- ARGV: prefix, user, marker key, marker ttl_ms
-- Forgets a user in Redis: queued jobs removed, running ones told to stop and marked to leave
-- nothing behind when they end, finished ones' records, delivery claims, counters, rate
-- state and conversation deleted; a marker (a digest, not the id) tells the recorder to drop
-- their later events. Returns their job ids (their files are the caller's to delete).
local user, marker, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4])
local jobs = redis.call('ZRANGE', k(K.user_jobs, user), 0, -1)
for _, job in ipairs(jobs) do
  local key = k(K.job, job)
  local state, class, platform, chat =
    unpack(redis.call('HMGET', key, 'state', 'class', 'reply_platform', 'reply_chat'))
  if platform and chat then redis.call('DEL', k(K.bot, platform, 'delivered', job, chat)) end
  if state == 'running' then
    redis.call('HSET', key, 'cancel', '1', 'forgotten', '1')
  else
    if state == 'queued' then
      local pending = k(K.pending, class, user)
      redis.call('LREM', pending, 0, job)
      redis.call('ZREM', k(K.delayed), job)
      if redis.call('LLEN', pending) == 0 then redis.call('LREM', k(K.ring, class), 0, user) end
      incr(k(K.count, 'queued'), -1)
    end
    redis.call('DEL', key)
    redis.call('ZREM', k(K.expiring), job)
  end
end
redis.call('DEL', k(K.user_jobs, user), k(K.count, 'queued', user),
  k(K.count, 'served', user), k(K.gcra, user),
  k(K.conv, user), k(K.transcript, user))
redis.call('SET', marker, '1', 'PX', ttl)
return jobs
