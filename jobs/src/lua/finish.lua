-- ARGV: prefix, worker, entry, job, outcome (done|failed|cancelled|retry), detail, now_ms,
--       retry_delay_ms, max_attempts
-- Ends this worker's hold on a job, if it still has it ('lost' otherwise), so a job that
-- another worker took over can finish only once.
local worker, entry, job, outcome, detail = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local now, delay, max_attempts = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local pending = redis.call('XPENDING', k('work'), 'workers', entry, entry, 1)
if #pending == 0 or pending[1][2] ~= worker then return 'lost' end
redis.call('XACK', k('work'), 'workers', entry)
redis.call('XDEL', k('work'), entry)
local key = k('job', job)
local user, class, attempts = unpack(redis.call('HMGET', key, 'user', 'class', 'attempts'))
incr(k('count', 'running', user), -1)
incr(k('count', 'running'), -1)
if outcome == 'done' then
  redis.call('HSET', key, 'state', 'done', 'result', detail, 'percent', '100', 'finished_ms', tostring(now))
  event(job, user, 'done', 'result', detail)
  incr(k('count', 'outcome', 'done'), 1)
elseif outcome == 'cancelled' then
  redis.call('HSET', key, 'state', 'cancelled', 'finished_ms', tostring(now))
  event(job, user, 'cancelled')
  incr(k('count', 'outcome', 'cancelled'), 1)
elseif outcome == 'retry' and tonumber(attempts) < max_attempts then
  redis.call('HSET', key, 'state', 'queued', 'error', detail)
  redis.call('ZADD', k('delayed'), now + delay, job)
  incr(k('count', 'queued'), 1)
  incr(k('count', 'queued', user), 1)
  incr(k('count', 'outcome', 'retried'), 1)
  event(job, user, 'retrying', 'attempt', attempts, 'reason', detail, 'retry_in_s', string.format('%.3f', delay / 1000))
  return 'retrying'
elseif outcome == 'retry' then
  redis.call('HSET', key, 'state', 'failed', 'error', detail, 'finished_ms', tostring(now))
  redis.call('XADD', k('dead'), '*', 'job', job, 'user', user, 'reason', detail, 'attempts', attempts)
  event(job, user, 'failed', 'reason', 'Something went wrong rendering your video; an admin has been told.')
  incr(k('count', 'outcome', 'dead_lettered'), 1)
  return 'dead'
else
  redis.call('HSET', key, 'state', 'failed', 'error', detail, 'finished_ms', tostring(now))
  event(job, user, 'failed', 'reason', detail)
  incr(k('count', 'outcome', 'failed'), 1)
end
return outcome
