-- ARGV: prefix, worker, now_ms, lease_ms, max_attempts
-- Takes over one job whose worker went silent for longer than the lease. A job that keeps
-- killing its workers goes to the dead-letter stream after max_attempts.
local worker, now, lease, max_attempts = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local claimed = redis.call('XAUTOCLAIM', k('work'), 'workers', worker, lease, '0-0', 'COUNT', 1)
for _, entry in ipairs(claimed[2]) do
  local id, fields = entry[1], entry[2]
  local job = fields and fields[2]
  local state, user, cancel = unpack(redis.call('HMGET', k('job', job or ''), 'state', 'user', 'cancel'))
  if state ~= 'running' or not user then
    redis.call('XACK', k('work'), 'workers', id)
    redis.call('XDEL', k('work'), id)
  elseif cancel == '1' then
    redis.call('XACK', k('work'), 'workers', id)
    redis.call('XDEL', k('work'), id)
    incr(k('count', 'running', user), -1)
    incr(k('count', 'running'), -1)
    redis.call('HSET', k('job', job), 'state', 'cancelled', 'finished_ms', tostring(now))
    event(job, user, 'cancelled')
    incr(k('count', 'outcome', 'cancelled'), 1)
  else
    local attempt = redis.call('HINCRBY', k('job', job), 'attempts', 1)
    if attempt > max_attempts then
      redis.call('XACK', k('work'), 'workers', id)
      redis.call('XDEL', k('work'), id)
      incr(k('count', 'running', user), -1)
      incr(k('count', 'running'), -1)
      incr(k('count', 'outcome', 'dead_lettered'), 1)
      local reason = 'its worker stopped ' .. (attempt - 1) .. ' times'
      redis.call('HSET', k('job', job), 'state', 'failed', 'error', reason, 'finished_ms', tostring(now))
      redis.call('XADD', k('dead'), '*', 'job', job, 'user', user, 'reason', reason, 'attempts', tostring(attempt - 1))
      event(job, user, 'failed', 'reason', 'Something went wrong rendering your video; an admin has been told.')
    else
      redis.call('HSET', k('job', job), 'worker', worker, 'lease', id)
      event(job, user, 'started', 'worker', worker, 'attempt', tostring(attempt))
      return {job, id}
    end
  end
end
return false
