-- Take the tenant's quota and create an open RFQ (hash, listing index, deadline, open set,
-- usage), atomically: either the quota admits the RFQ and everything is written, or it refuses
-- and only the usage counter 'throttled' changes.
-- KEYS: 1 rfq hash, 2 tenant index zset, 3 deadline zset, 4 quota hash rfq:<t>:quota,
--       5 open zset rfq:<t>:open (rfq_id by deadline_ms), 6 usage hash rfq:<t>:usage:<YYYY-MM>
-- ARGV: 1 rfq_id, 2 tenant, 3 created_ms, 4 deadline_ms, 5 max_quotes, 6 currency,
--       7 request JSON, 8 deadline member, 9 retention_ms, 10 rate_per_s, 11 burst,
--       12 max_open (10-12: 0 = unlimited; the rate applies only when both 10 and 11 are > 0)
-- Returns {outcome, limit, remaining, reset_ms, retry_after_ms}:
--   outcome 'created', 'exists' (the id was already stored: nothing changed, no quota taken;
--   a retry after a lost reply), 'rate' or 'open' (refused);
--   limit = burst (0 when the rate is unlimited), remaining = whole tokens left, reset_ms =
--   ms until the bucket is full again, retry_after_ms = ms until a submit can pass ('rate':
--   one token back; 'open': the earliest open deadline; 0 otherwise).
-- Rate bucket: fields tokens (milli-tokens) and ts (ms, redis TIME) in KEYS[4]. It refills
-- rate_per_s milli-tokens per ms, so every value is an integer: no float drift. An absent
-- hash is a full bucket. Each redis.call costs a few microseconds, so an unlimited quota
-- skips what it does not need (TIME, the bucket, the open-set count).
-- Usage: 'rfqs' counts RFQs answered 202. The requester undoes a create whose scatter failed
-- (it answers 503) and then decrements 'rfqs' in the same month's hash; the token stays taken.
-- Open set: every RFQ is added (a tenant may become limited later); completion (add_quote.lua)
-- and expiry (sweep_expired.lua) remove entries. When the set looks full, entries whose
-- deadline is more than 60 s past are dropped before it is counted again, in case one was
-- missed.
-- Integers go to Redis as decimal strings (a Lua number could be sent in exponent form).
local function int(x)
  return string.format('%d', x)
end
local rate = tonumber(ARGV[10])
local burst = tonumber(ARGV[11])
local max_open = tonumber(ARGV[12])
local limited = rate > 0 and burst > 0
local now = 0
if limited or max_open > 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local cap = burst * 1000
local tokens = cap
if limited then
  local b = redis.call('HMGET', KEYS[4], 'tokens', 'ts')
  local held, last = tonumber(b[1]), tonumber(b[2])
  if held and last then
    tokens = held
    if now > last then
      tokens = tokens + (now - last) * rate
    end
    if tokens > cap then
      tokens = cap
    end
  end
end

-- ms until the bucket holding tok milli-tokens is full; whole tokens held.
local function reset_ms(tok)
  if not limited or tok >= cap then
    return 0
  end
  return math.ceil((cap - tok) / rate)
end
local function answer(outcome, tok, retry)
  if not limited then
    return {outcome, 0, 0, 0, retry}
  end
  return {outcome, burst, math.floor(tok / 1000), reset_ms(tok), retry}
end

if redis.call('EXISTS', KEYS[1]) == 1 then
  return answer('exists', tokens, 0)
end
if limited and tokens < 1000 then
  redis.call('HINCRBY', KEYS[6], 'throttled', 1)
  return answer('rate', tokens, math.ceil((1000 - tokens) / rate))
end
-- True when max_open RFQs are open; stale entries are looked for only when it seems so.
local function open_full()
  if redis.call('ZCARD', KEYS[5]) < max_open then
    return false
  end
  if redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', int(now - 60000)) == 0 then
    return true
  end
  return redis.call('ZCARD', KEYS[5]) >= max_open
end
if max_open > 0 and open_full() then
  redis.call('HINCRBY', KEYS[6], 'throttled', 1)
  local first = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
  local wait = 0
  if first[2] and tonumber(first[2]) > now then
    wait = tonumber(first[2]) - now
  end
  return answer('open', tokens, wait)
end

if limited then
  tokens = tokens - 1000
  redis.call('HSET', KEYS[4], 'tokens', int(tokens), 'ts', int(now))
end
redis.call('HSET', KEYS[1], 'rfq_id', ARGV[1], 'tenant', ARGV[2], 'status', 'open',
  'created_ms', ARGV[3], 'deadline_ms', ARGV[4], 'max_quotes', ARGV[5], 'currency', ARGV[6],
  'request', ARGV[7], 'count', 0, 'declines', 0, 'dups', 0, 'late', 0)
local expire_at = tonumber(ARGV[4]) + tonumber(ARGV[9])
redis.call('PEXPIREAT', KEYS[1], expire_at)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
-- The index keeps what the hashes keep: drop entries older than the retention.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[9]))
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[8])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
redis.call('HINCRBY', KEYS[6], 'rfqs', 1)
return answer('created', tokens, 0)
