-- ARGV: prefix, worker, entry, job
-- Renews the lease if this worker still holds it; answers 'lost', 'cancel' or 'ok'.
local worker, entry, job = ARGV[2], ARGV[3], ARGV[4]
local pending = redis.call('XPENDING', k(K.work), WORKERS, entry, entry, 1)
if #pending == 0 or pending[1][2] ~= worker then return 'lost' end
redis.call('HSET', k(K.workers), worker, tostring(now_ms()))
redis.call('XCLAIM', k(K.work), WORKERS, worker, 0, entry, 'JUSTID')
if redis.call('HGET', k(K.job, job), 'cancel') == '1' then return 'cancel' end
return 'ok'
