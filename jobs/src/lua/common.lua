-- Shared helpers, prepended to every script. ARGV[1] is the key prefix.
local P = ARGV[1]
local function k(...) return P .. ':' .. table.concat({...}, ':') end
local function event(job, user, kind, ...)
  redis.call('XADD', k('events'), 'MAXLEN', '~', '100000', '*', 'job', job, 'user', user, 'kind', kind, ...)
end
-- Jobs that start before the k-th (0-based) queued job of `user` in `class`, round-robin:
-- its own k earlier jobs and up to k + 1 of every other waiting user's.
local function ahead(class, user, index)
  local n = index
  for _, other in ipairs(redis.call('LRANGE', k('ring', class), 0, -1)) do
    if other ~= user then
      n = n + math.min(redis.call('LLEN', k('pending', class, other)), index + 1)
    end
  end
  return n
end
local function incr(key, by) return redis.call('INCRBY', key, by) end
