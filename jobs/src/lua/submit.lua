-- ARGV: prefix, job, user, plan, class, interval_ms, burst, max_queued_user, max_queue,
--       admin ('1' or '0'), reply platform, reply chat (empty: none), network (empty: not an
--       anonymous user), anonymous interval_ms, anonymous burst
-- Admits a job (not for a blocked user; per-user GCRA rate, per-user and farm caps; for an
-- anonymous user also their network's rate and the rate of all anonymous users together)
-- and records it with where its progress and video go, in one step.
local job, user, plan, class = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local interval, burst = tonumber(ARGV[6]), tonumber(ARGV[7])
local max_user, max_queue, admin = tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10] == '1'
local reply_platform, reply_chat = ARGV[11], ARGV[12]
local network, anon_interval, anon_burst = ARGV[13], tonumber(ARGV[14]), tonumber(ARGV[15])
local now = now_ms()
-- The workers' group, for the first job of a farm (or one that lost its data).
pcall(redis.call, 'XGROUP', 'CREATE', k(K.work), WORKERS, '$', 'MKSTREAM')
if redis.call('HEXISTS', k(K.blocked), user) == 1 then
  incr(k(K.count, 'refused', 'blocked'), 1)
  return {'blocked', '0'}
end
if not admin then
  local queued = tonumber(redis.call('GET', k(K.count, 'queued')) or '0')
  if queued >= max_queue then incr(k(K.count, 'refused', 'busy'), 1); return {'busy', '60'} end
  local mine = tonumber(redis.call('GET', k(K.count, 'queued', user)) or '0')
  if mine >= max_user then incr(k(K.count, 'refused', 'too_many_queued'), 1); return {'too_many_queued', '0'} end
  -- GCRA: a theoretical arrival time per bucket; `burst` may arrive back to back. Every
  -- bucket must allow it before any is charged.
  local buckets = {{k(K.gcra, user), interval, burst}}
  if network ~= '' then
    table.insert(buckets, {k(K.gcra, 'network:' .. network), interval, burst})
    table.insert(buckets, {k(K.gcra, 'anonymous'), anon_interval, anon_burst})
  end
  for _, b in ipairs(buckets) do
    local tat = math.max(tonumber(redis.call('GET', b[1]) or '0'), now)
    local tolerance = b[2] * (b[3] - 1)
    if tat - now > tolerance then
      incr(k(K.count, 'refused', 'rate_limited'), 1)
      return {'rate_limited', string.format('%.3f', (tat - now - tolerance) / 1000)}
    end
    b[4] = tat
  end
  for _, b in ipairs(buckets) do
    redis.call('SET', b[1], tostring(b[4] + b[2]), 'PX', math.ceil(b[4] + b[2] - now) + 1000)
  end
end
redis.call('HSET', k(K.job, job), 'user', user, 'plan', plan, 'state', 'queued', 'class', class,
  'attempts', '0', 'created_ms', tostring(now), 'stage', '', 'percent', '0',
  'admin', admin and '1' or '0')
if reply_platform ~= '' then
  redis.call('HSET', k(K.job, job), 'reply_platform', reply_platform, 'reply_chat', reply_chat)
end
local pending = k(K.pending, class, user)
local index = redis.call('RPUSH', pending, job) - 1
if index == 0 then redis.call('RPUSH', k(K.ring, class), user) end
incr(k(K.count, 'queued'), 1)
incr(k(K.count, 'queued', user), 1)
redis.call('ZADD', k(K.user_jobs, user), now, job)
local place = position(class, user, index)
event({kind = 'queued', job = job, user = user, position = place})
return {'ok', tostring(place)}
