-- ARGV: prefix, claim key, owner, keep_ms, job, user, platform, chat, message
-- Marks a posted video as sent (if this owner still holds the claim) and announces the
-- delivery as a job event, in one step; 'lost' when the claim was taken over meanwhile.
local claim, owner, keep = ARGV[2], ARGV[3], tonumber(ARGV[4])
local job, user, platform, chat, message = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local held = redis.call('GET', claim)
if held ~= owner then return 'lost' end
redis.call('SET', claim, 'sent', 'PX', keep)
event({kind = 'delivered', job = job, user = user, platform = platform, chat = chat,
  message = message})
return 'sent'
