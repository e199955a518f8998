-- KEYS: none. ARGV: prefix, claim key, owner ("role/name/instance"), ttl_ms
-- Claims the posting of a video into a chat: free, or held by an owner whose process is gone
-- (its member key holds another instance, or none): claimed. 'sent' when it was posted
-- already; 'busy' while a live process is posting it.
local claim, owner, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4])
local held = redis.call('GET', claim)
if held == 'sent' then return 'sent' end
if held and held ~= owner then
  local role, name, instance = string.match(held, '^([^/]+)/([^/]+)/([^/]+)$')
  if role and redis.call('GET', k(K.member, role, name)) == instance then return 'busy' end
end
redis.call('SET', claim, owner, 'PX', ttl)
return 'claimed'
