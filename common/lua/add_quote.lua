-- Store answers (quotes or declines) to one RFQ: for each, checks the RFQ is open and the
-- answer on time, dedupes per responder, ranks, counts and detects completion, atomically.
-- Meters the tenant's usage (month of the answers' arrival) and drops a completed RFQ from
-- the tenant's open set (the quota's open-RFQ count). Several answers in one call (the
-- answers of a batch message, or of one RFQ in one fetch) save a script call each; each is
-- handled exactly as if it came alone, in order.
-- KEYS: 1 rfq hash, 2 quotes hash, 3 rank zset, 4 deadline zset, 5 open zset rfq:<t>:open,
--       6 usage hash rfq:<t>:usage:<YYYY-MM>
-- ARGV: 1 deadline member, 2 now_ms, 3 most answers (quotes + declines) one RFQ keeps,
--       4 rfq_id, then 5 per answer: responder_id, quote JSON, rank member ('' for a
--       decline), arrival_ms, quote currency ('' for a decline)
-- Returns one reply per answer, in order: {outcome, count, status}, and for completed a 4th
-- element: the best quote's JSON (nil when none); outcome is one of stored, completed,
-- declined, duplicate, late, closed, unknown, currency, overflow.
-- Usage fields: fanout +1 for every answer to an existing RFQ (every outcome but unknown),
-- quotes +1 per priced quote stored, declines +1 per decline stored, completed +1.
local function add_one(responder, quote, member, arrival, currency)
  local rfq = redis.call('HMGET', KEYS[1], 'status', 'deadline_ms', 'max_quotes', 'currency', 'count')
  if not rfq[1] then
    return {'unknown', 0, ''}
  end
  redis.call('HINCRBY', KEYS[6], 'fanout', 1)
  local status = rfq[1]
  local on_time = tonumber(arrival) <= tonumber(rfq[2])
  if status ~= 'open' then
    -- A quote this responder already stored (e.g. redelivered after the aggregator died before
    -- its ack) is a duplicate, not a drop, even once the RFQ has closed.
    if redis.call('HEXISTS', KEYS[2], responder) == 1 then
      redis.call('HINCRBY', KEYS[1], 'dups', 1)
      return {'duplicate', tonumber(rfq[5]), status}
    end
    -- A quote that reached the stream before the deadline but was processed after the sweep
    -- (the aggregators lagged) belongs to the expired RFQ's partial result: keep it. Anything
    -- else reaching a closed RFQ is dropped.
    if not (status == 'expired' and on_time) then
      redis.call('HINCRBY', KEYS[1], 'closed_drops', 1)
      return {'closed', tonumber(rfq[5]), status}
    end
  end
  if not on_time then
    redis.call('HINCRBY', KEYS[1], 'late', 1)
    return {'late', tonumber(rfq[5]), status}
  end
  if currency ~= '' and currency ~= rfq[4] then
    return {'currency', tonumber(rfq[5]), status}
  end
  -- Bound what one RFQ can hold: declines do not count towards max_quotes, so without a cap a
  -- peer could store any number of them under made-up responder ids.
  local answers = redis.call('HLEN', KEYS[2])
  if answers >= tonumber(ARGV[3]) and redis.call('HEXISTS', KEYS[2], responder) == 0 then
    redis.call('HINCRBY', KEYS[1], 'overflow', 1)
    return {'overflow', tonumber(rfq[5]), status}
  end
  if redis.call('HSETNX', KEYS[2], responder, quote) == 0 then
    redis.call('HINCRBY', KEYS[1], 'dups', 1)
    return {'duplicate', tonumber(rfq[5]), status}
  end
  -- The answers hash and the ranking expire with the RFQ. The RFQ's expiry is fixed when it is
  -- created, so each key gets it once, when this answer created it (not on every answer: these
  -- were three of the script's ten commands).
  local ttl = -1
  if answers == 0 then
    ttl = redis.call('PTTL', KEYS[1])
    if ttl > 0 then
      redis.call('PEXPIRE', KEYS[2], ttl)
    end
  end
  if member == '' then
    redis.call('HINCRBY', KEYS[1], 'declines', 1)
    redis.call('HINCRBY', KEYS[6], 'declines', 1)
    return {'declined', tonumber(rfq[5]), status}
  end
  redis.call('HINCRBY', KEYS[6], 'quotes', 1)
  redis.call('ZADD', KEYS[3], 0, member)
  local n = redis.call('HINCRBY', KEYS[1], 'count', 1)
  if n == 1 then
    -- the first priced quote: this ZADD created the ranking
    if answers ~= 0 then
      ttl = redis.call('PTTL', KEYS[1])
    end
    if ttl > 0 then
      redis.call('PEXPIRE', KEYS[3], ttl)
    end
  end
  if status == 'open' and n >= tonumber(rfq[3]) then
    redis.call('HSET', KEYS[1], 'status', 'completed', 'closed_ms', ARGV[2])
    redis.call('ZREM', KEYS[4], ARGV[1])
    redis.call('ZREM', KEYS[5], ARGV[4])
    redis.call('HINCRBY', KEYS[6], 'completed', 1)
    -- The best quote for the completed event, read here rather than in two more round trips:
    -- the first-ranked member ends with |<responder_id>.
    local best = false
    local top = redis.call('ZRANGE', KEYS[3], 0, 0)
    if top[1] then
      local who = string.match(top[1], '|([^|]+)$')
      if who then
        best = redis.call('HGET', KEYS[2], who)
      end
    end
    return {'completed', n, 'completed', best}
  end
  return {'stored', n, status}
end

local replies = {}
for i = 5, #ARGV - 4, 5 do
  replies[#replies + 1] = add_one(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
end
return replies
