-- ARGV: prefix, worker, entry, job, outcome (done|failed|cancelled|retry|release), detail,
--       retry_delay_ms, max_attempts
-- Ends this worker's hold on a job, if it still has it ('lost' otherwise), so a job that
-- another worker took over can finish only once. A job cancelled while it ran ends cancelled
-- whatever its attempt says (a retry would run it again). 'release' hands a job back untried
-- (its worker is stopping): it goes to the front of its user's queue for another worker. A
-- forgotten user's job leaves nothing behind ('forgotten').
local worker, entry, job, outcome, detail = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local delay, max_attempts = tonumber(ARGV[7]), tonumber(ARGV[8])
local pending = redis.call('XPENDING', k(K.work), WORKERS, entry, entry, 1)
if #pending == 0 or pending[1][2] ~= worker then return 'lost' end
local key = k(K.job, job)
local user, class, attempts, cancel, forgotten =
  unpack(redis.call('HMGET', key, 'user', 'class', 'attempts', 'cancel', 'forgotten'))
attempts = tonumber(attempts) or 0
local now = now_ms()
release_lease(entry, user)
if forgotten == '1' then
  purge(job, user)
  return 'forgotten'
end
if cancel == '1' and outcome ~= 'done' then outcome = 'cancelled' end
if outcome == 'done' then
  redis.call('HSET', key, 'state', 'done', 'result', detail, 'percent', '100', 'finished_ms', tostring(now))
  event({kind = 'done', job = job, user = user, result = detail})
  incr(k(K.count, 'outcome', 'done'), 1)
elseif outcome == 'cancelled' then
  redis.call('HSET', key, 'state', 'cancelled', 'finished_ms', tostring(now))
  event({kind = 'cancelled', job = job, user = user})
  incr(k(K.count, 'outcome', 'cancelled'), 1)
elseif outcome == 'release' then
  redis.call('HSET', key, 'state', 'queued', 'attempts', tostring(math.max(attempts - 1, 0)))
  local queue = k(K.pending, class, user)
  if redis.call('LPUSH', queue, job) == 1 then redis.call('LPUSH', k(K.ring, class), user) end
  incr(k(K.count, 'queued'), 1)
  incr(k(K.count, 'queued', user), 1)
  event({kind = 'queued', job = job, user = user, position = position(class, user, 0)})
  return 'released'
elseif outcome == 'retry' and attempts < max_attempts then
  redis.call('HSET', key, 'state', 'queued', 'error', detail)
  redis.call('ZADD', k(K.delayed), now + delay, job)
  incr(k(K.count, 'queued'), 1)
  incr(k(K.count, 'queued', user), 1)
  incr(k(K.count, 'outcome', 'retried'), 1)
  event({kind = 'retrying', job = job, user = user, attempt = attempts, reason = detail,
    retry_in_s = delay / 1000})
  return 'retrying'
elseif outcome == 'retry' then
  redis.call('HSET', key, 'state', 'failed', 'error', detail, 'finished_ms', tostring(now))
  dead_letter(job, user, detail, attempts)
  event({kind = 'failed', job = job, user = user,
    reason = 'Something went wrong rendering your video; an admin has been told.'})
  incr(k(K.count, 'outcome', 'dead_lettered'), 1)
  ended(job, now)
  return 'dead'
else
  redis.call('HSET', key, 'state', 'failed', 'error', detail, 'finished_ms', tostring(now))
  event({kind = 'failed', job = job, user = user, reason = detail})
  incr(k(K.count, 'outcome', 'failed'), 1)
end
ended(job, now)
return outcome
