-- ARGV: prefix, job
-- The job's place in line (1 = next to start), or 0 when it is not waiting.
local job = ARGV[2]
local user, class, state = unpack(redis.call('HMGET', k(K.job, job), 'user', 'class', 'state'))
if state ~= 'queued' or not user then return 0 end
local index = redis.call('LPOS', k(K.pending, class, user), job)
if not index then return 0 end
return position(class, user, index)
