-- ARGV: prefix, dead-letter entry id
-- Puts a dead-lettered job back in its user's queue with fresh attempts.
local entry = ARGV[2]
local found = redis.call('XRANGE', k(K.dead), entry, entry)
if #found == 0 then return 'not_found' end
local fields = found[1][2]
local job
for i = 1, #fields, 2 do if fields[i] == 'job' then job = fields[i + 1] end end
local key = k(K.job, job or '')
local user, class = unpack(redis.call('HMGET', key, 'user', 'class'))
if not user then return 'not_found' end
redis.call('XDEL', k(K.dead), entry)
redis.call('ZREM', k(K.expiring), job)
redis.call('HSET', key, 'state', 'queued', 'attempts', '0', 'error', '')
redis.call('HDEL', key, 'finished_ms')
local queue = k(K.pending, class, user)
if redis.call('RPUSH', queue, job) == 1 then redis.call('RPUSH', k(K.ring, class), user) end
incr(k(K.count, 'queued'), 1)
incr(k(K.count, 'queued', user), 1)
event({kind = 'queued', job = job, user = user,
  position = position(class, user, redis.call('LLEN', queue) - 1)})
return job
