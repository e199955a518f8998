-- ARGV: prefix, job, event JSON, stage, percent
-- Announces a stage's progress, unless the job's user asked to be forgotten meanwhile (or
-- its record is gone): nothing of theirs is written after that.
local job, json, stage, percent = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = k(K.job, job)
local user, forgotten = unpack(redis.call('HMGET', key, 'user', 'forgotten'))
if not user or forgotten == '1' then return 0 end
redis.call('HSET', key, 'stage', stage, 'percent', percent)
redis.call('XADD', k(K.events), '*', 'event', json)
return 1
