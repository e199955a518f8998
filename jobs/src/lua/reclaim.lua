-- ARGV: prefix, worker, now_ms, lease_ms, max_attempts
-- Takes over one job whose worker went silent for longer than the lease. A job that keeps
-- killing its workers goes to the dead-letter stream after max_attempts.
local worker, now, lease, max_attempts = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local work = k(K.work)
local ok, claimed = pcall(redis.call, 'XAUTOCLAIM', work, WORKERS, worker, lease, '0-0', 'COUNT', 1)
if not ok then return false end
for _, entry in ipairs(claimed[2]) do
  local id, fields = entry[1], entry[2]
  local job = fields and fields[2]
  local key = k(K.job, job or '')
  local state, user, cancel = unpack(redis.call('HMGET', key, 'state', 'user', 'cancel'))
  if state ~= 'running' or not user then
    redis.call('XACK', work, WORKERS, id)
    redis.call('XDEL', work, id)
  elseif cancel == '1' then
    redis.call('XACK', work, WORKERS, id)
    redis.call('XDEL', work, id)
    incr(k(K.count, 'running', user), -1)
    incr(k(K.count, 'running'), -1)
    redis.call('HSET', key, 'state', 'cancelled', 'finished_ms', tostring(now))
    event({kind = 'cancelled', job = job, user = user})
    incr(k(K.count, 'outcome', 'cancelled'), 1)
  else
    local attempt = redis.call('HINCRBY', key, 'attempts', 1)
    if attempt > max_attempts then
      redis.call('XACK', work, WORKERS, id)
      redis.call('XDEL', work, id)
      incr(k(K.count, 'running', user), -1)
      incr(k(K.count, 'running'), -1)
      incr(k(K.count, 'outcome', 'dead_lettered'), 1)
      local reason = 'its worker stopped ' .. (attempt - 1) .. ' times'
      redis.call('HSET', key, 'state', 'failed', 'error', reason, 'finished_ms', tostring(now))
      redis.call('XADD', k(K.dead), '*', 'job', job, 'user', user, 'reason', reason, 'attempts', tostring(attempt - 1))
      event({kind = 'failed', job = job, user = user,
        reason = 'Something went wrong rendering your video; an admin has been told.'})
    else
      redis.call('HSET', key, 'worker', worker, 'lease', id, 'started_ms', tostring(now))
      event({kind = 'started', job = job, user = user, worker = worker, attempt = attempt})
      return {job, id}
    end
  end
end
return false
