-- ARGV: prefix, worker, lease_ms, max_attempts
-- Takes over one job whose worker went silent for longer than the lease, however many
-- leases are held by live workers (XPENDING's IDLE filter looks at every pending entry). A
-- job that keeps killing its workers goes to the dead-letter stream after max_attempts; one
-- cancelled, or of a forgotten user, ends.
local worker, lease, max_attempts = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local work = k(K.work)
local ok, silent = pcall(redis.call, 'XPENDING', work, WORKERS, 'IDLE', lease, '-', '+', 100)
if not ok then return false end
local now = now_ms()
for _, p in ipairs(silent) do
  local claimed = redis.call('XCLAIM', work, WORKERS, worker, lease, p[1])
  local entry = claimed[1]
  if entry then
    local id, fields = entry[1], entry[2]
    local job = fields and fields[2]
    local key = k(K.job, job or '')
    local state, user, cancel, forgotten =
      unpack(redis.call('HMGET', key, 'state', 'user', 'cancel', 'forgotten'))
    if state ~= 'running' or not user then
      redis.call('XACK', work, WORKERS, id)
      redis.call('XDEL', work, id)
    elseif forgotten == '1' then
      release_lease(id, user)
      purge(job, user)
    elseif cancel == '1' then
      release_lease(id, user)
      redis.call('HSET', key, 'state', 'cancelled', 'finished_ms', tostring(now))
      event({kind = 'cancelled', job = job, user = user})
      incr(k(K.count, 'outcome', 'cancelled'), 1)
      ended(job, now)
    else
      local attempt = redis.call('HINCRBY', key, 'attempts', 1)
      if attempt > max_attempts then
        release_lease(id, user)
        incr(k(K.count, 'outcome', 'dead_lettered'), 1)
        local reason = 'its worker stopped ' .. (attempt - 1) .. ' times'
        redis.call('HSET', key, 'state', 'failed', 'error', reason, 'finished_ms', tostring(now))
        dead_letter(job, user, reason, attempt - 1)
        event({kind = 'failed', job = job, user = user,
          reason = 'Something went wrong rendering your video; an admin has been told.'})
        ended(job, now)
      else
        redis.call('HSET', k(K.workers), worker, tostring(now))
        redis.call('HSET', key, 'worker', worker, 'lease', id, 'started_ms', tostring(now))
        event({kind = 'started', job = job, user = user, worker = worker, attempt = attempt})
        return {job, id}
      end
    end
  end
end
return false
