-- Shared helpers, appended to the key prelude (P, K, k, WORKERS) of every script. Times come
-- from Redis's own clock, so no caller's clock matters. Events are one JSON field, in the
-- shape of spinbot_core::JobEvent.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function event(fields)
  redis.call('XADD', k(K.events), '*', 'event', cjson.encode(fields))
end
-- Jobs that start before the k-th (0-based) queued job of `user` in `class`, round-robin:
-- its own k earlier jobs and up to k + 1 of every other waiting user's.
local function ahead(class, user, index)
  local n = index
  for _, other in ipairs(redis.call('LRANGE', k(K.ring, class), 0, -1)) do
    if other ~= user then
      n = n + math.min(redis.call('LLEN', k(K.pending, class, other)), index + 1)
    end
  end
  return n
end
local function incr(key, by) return redis.call('INCRBY', key, by) end
-- A per-user counter goes away when it is back to zero.
local function decr_user(key)
  if redis.call('DECR', key) <= 0 then redis.call('DEL', key) end
end
-- A user's place in line for a job just put at `index` of their queue.
local function position(class, user, index) return ahead(class, user, index) + 1 end
-- A job that ended: its live record goes after the retention (see expire.lua).
local function ended(job, now) redis.call('ZADD', k(K.expiring), now, job) end
-- Everything Redis keeps of one job of `user` (a forgotten user's, at its end).
local function purge(job, user)
  redis.call('DEL', k(K.job, job))
  redis.call('ZREM', k(K.expiring), job)
  redis.call('ZREM', k(K.user_jobs, user), job)
  if redis.call('ZCARD', k(K.user_jobs, user)) == 0 then redis.call('DEL', k(K.user_jobs, user)) end
end
-- A user with nothing queued and nothing running starts afresh in the fair share: the count
-- of their jobs started (dispatch.lua serves the fewest first) goes.
local function rest_if_idle(user)
  if redis.call('EXISTS', k(K.count, 'queued', user), k(K.count, 'running', user)) == 0 then
    redis.call('DEL', k(K.count, 'served', user))
  end
end
-- A running job ends: its lease entry goes, and the running counts come down.
local function release_lease(entry, user)
  redis.call('XACK', k(K.work), WORKERS, entry)
  redis.call('XDEL', k(K.work), entry)
  decr_user(k(K.count, 'running', user))
  incr(k(K.count, 'running'), -1)
  rest_if_idle(user)
end
-- A dead letter, in a bounded stream.
local function dead_letter(job, user, reason, attempts)
  redis.call('XADD', k(K.dead), 'MAXLEN', '~', '10000', '*', 'job', job, 'user', user,
    'reason', reason, 'attempts', tostring(attempts))
end
