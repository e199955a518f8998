-- ARGV: prefix, dead-letter entry id, now_ms
-- Puts a dead-lettered job back in its user's queue with fresh attempts.
local entry, now = ARGV[2], ARGV[3]
local found = redis.call('XRANGE', k('dead'), entry, entry)
if #found == 0 then return 'not_found' end
local fields = found[1][2]
local job
for i = 1, #fields, 2 do if fields[i] == 'job' then job = fields[i + 1] end end
local key = k('job', job or '')
local user, class = unpack(redis.call('HMGET', key, 'user', 'class'))
if not user then return 'not_found' end
redis.call('XDEL', k('dead'), entry)
redis.call('HSET', key, 'state', 'queued', 'attempts', '0', 'error', '')
if redis.call('RPUSH', k('pending', class, user), job) == 1 then redis.call('RPUSH', k('ring', class), user) end
incr(k('count', 'queued'), 1)
incr(k('count', 'queued', user), 1)
event(job, user, 'queued', 'position', tostring(ahead(class, user, redis.call('LLEN', k('pending', class, user)) - 1) + 1))
return job
