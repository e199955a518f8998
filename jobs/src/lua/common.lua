-- Shared helpers, appended to the key prelude (P, K, k, WORKERS) of every script.
-- Events are one JSON field, in the shape of spinbot_core::JobEvent.
local function event(fields)
  redis.call('XADD', k(K.events), 'MAXLEN', '~', '100000', '*', 'event', cjson.encode(fields))
end
-- Jobs that start before the k-th (0-based) queued job of `user` in `class`, round-robin:
-- its own k earlier jobs and up to k + 1 of every other waiting user's.
local function ahead(class, user, index)
  local n = index
  for _, other in ipairs(redis.call('LRANGE', k(K.ring, class), 0, -1)) do
    if other ~= user then
      n = n + math.min(redis.call('LLEN', k(K.pending, class, other)), index + 1)
    end
  end
  return n
end
local function incr(key, by) return redis.call('INCRBY', key, by) end
-- A user's place in line for a job just put at `index` of their queue.
local function position(class, user, index) return ahead(class, user, index) + 1 end
