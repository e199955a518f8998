-- ARGV: prefix, retention_ms, limit
-- Removes the live records of up to `limit` jobs that ended more than the retention ago:
-- the job's hash and its entry in its user's jobs. The Postgres record answers for them
-- afterwards. Returns how many went.
local retention, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local old = redis.call('ZRANGEBYSCORE', k(K.expiring), '-inf', now_ms() - retention, 'LIMIT', 0, limit)
for _, job in ipairs(old) do
  local user = redis.call('HGET', k(K.job, job), 'user')
  if user then
    purge(job, user)
  else
    redis.call('ZREM', k(K.expiring), job)
  end
end
return #old
