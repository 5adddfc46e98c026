-- Store answers (quotes or declines) to one RFQ: for each, checks the RFQ is open and the
-- answer on time, dedupes per responder, ranks, counts and detects completion, atomically.
-- Meters the tenant's usage (month of the answers' arrival) and drops a completed RFQ from
-- the tenant's open set (the quota's open-RFQ count). Several answers in one call (the
-- answers of a batch message, or of one RFQ in one fetch) each get exactly the outcome they
-- would get alone, in order; the call only saves work: the RFQ is read once, counters are
-- written once with their sums, and the ranking gets one ZADD.
-- KEYS: 1 rfq hash, 2 quotes hash, 3 rank zset, 4 deadline zset, 5 open zset rfq:<t>:open,
--       6 usage hash rfq:<t>:usage:<YYYY-MM>
-- ARGV: 1 deadline member, 2 now_ms, 3 most answers (quotes + declines) one RFQ keeps,
--       4 rfq_id, then 5 per answer: responder_id, quote JSON, rank member ('' for a
--       decline), arrival_ms, quote currency ('' for a decline)
-- Returns one reply per answer, in order: {outcome, count, status}, and for completed a 4th
-- and 5th element: the best quote's JSON (nil when none) and the RFQ's created_ms (for the
-- time-to-complete histogram); outcome is one of stored, completed,
-- declined, duplicate, late, closed, unknown, currency, overflow.
-- Usage fields: fanout +1 for every answer to an existing RFQ (every outcome but unknown),
-- quotes +1 per priced quote stored, declines +1 per decline stored, completed +1.
local replies = {}
local rfq = redis.call('HMGET', KEYS[1], 'status', 'deadline_ms', 'max_quotes', 'currency', 'count',
  'created_ms')
if not rfq[1] then
  for i = 5, #ARGV - 4, 5 do
    replies[#replies + 1] = {'unknown', 0, ''}
  end
  return replies
end
local status = rfq[1]
local deadline = tonumber(rfq[2])
local max_quotes = tonumber(rfq[3])
local count = tonumber(rfq[5]) or 0
local count_at_start = count
local answers = nil -- HLEN of the answers hash, read when first needed
local ttl = nil     -- PTTL of the RFQ, read when first needed
-- Counter increments, written once at the end (in a fixed order).
local rfq_fields = {'dups', 'closed_drops', 'late', 'overflow', 'declines'}
local usage_fields = {'fanout', 'quotes', 'declines', 'completed'}
local rfq_inc = {dups = 0, closed_drops = 0, late = 0, overflow = 0, declines = 0}
local usage_inc = {fanout = 0, quotes = 0, declines = 0, completed = 0}
local members = {}  -- rank members not yet added (ZADD 0 m1 0 m2 ...)

local function rfq_ttl()
  if not ttl then
    ttl = redis.call('PTTL', KEYS[1])
  end
  return ttl
end

-- The ranking must hold every stored quote before the best one is read.
local function flush_members()
  if #members > 0 then
    redis.call('ZADD', KEYS[3], unpack(members))
    members = {}
  end
end

local function add_one(responder, quote, member, arrival, currency)
  usage_inc.fanout = usage_inc.fanout + 1
  local on_time = tonumber(arrival) <= deadline
  if status ~= 'open' then
    -- A quote this responder already stored (e.g. redelivered after the aggregator died before
    -- its ack) is a duplicate, not a drop, even once the RFQ has closed.
    if redis.call('HEXISTS', KEYS[2], responder) == 1 then
      rfq_inc.dups = rfq_inc.dups + 1
      return {'duplicate', count, status}
    end
    -- A quote that reached the stream before the deadline but was processed after the sweep
    -- (the aggregators lagged) belongs to the expired RFQ's partial result: keep it. Anything
    -- else reaching a closed RFQ is dropped.
    if not (status == 'expired' and on_time) then
      rfq_inc.closed_drops = rfq_inc.closed_drops + 1
      return {'closed', count, status}
    end
  end
  if not on_time then
    rfq_inc.late = rfq_inc.late + 1
    return {'late', count, status}
  end
  if currency ~= '' and currency ~= rfq[4] then
    return {'currency', count, status}
  end
  -- Bound what one RFQ can hold: declines do not count towards max_quotes, so without a cap a
  -- peer could store any number of them under made-up responder ids.
  if not answers then
    answers = redis.call('HLEN', KEYS[2])
  end
  if answers >= tonumber(ARGV[3]) and redis.call('HEXISTS', KEYS[2], responder) == 0 then
    rfq_inc.overflow = rfq_inc.overflow + 1
    return {'overflow', count, status}
  end
  if redis.call('HSETNX', KEYS[2], responder, quote) == 0 then
    rfq_inc.dups = rfq_inc.dups + 1
    return {'duplicate', count, status}
  end
  -- The answers hash and the ranking expire with the RFQ. The RFQ's expiry is fixed when it is
  -- created, so each key gets it once, when an answer created it.
  if answers == 0 and rfq_ttl() > 0 then
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
  answers = answers + 1
  if member == '' then
    rfq_inc.declines = rfq_inc.declines + 1
    usage_inc.declines = usage_inc.declines + 1
    return {'declined', count, status}
  end
  usage_inc.quotes = usage_inc.quotes + 1
  members[#members + 1] = 0
  members[#members + 1] = member
  count = count + 1
  if status == 'open' and count >= max_quotes then
    status = 'completed'
    redis.call('HSET', KEYS[1], 'status', 'completed', 'closed_ms', ARGV[2])
    redis.call('ZREM', KEYS[4], ARGV[1])
    redis.call('ZREM', KEYS[5], ARGV[4])
    usage_inc.completed = usage_inc.completed + 1
    -- The best quote for the completed event, read here rather than in two more round trips:
    -- the first-ranked member ends with |<responder_id>.
    flush_members()
    local best = false
    local top = redis.call('ZRANGE', KEYS[3], 0, 0)
    if top[1] then
      local who = string.match(top[1], '|([^|]+)$')
      if who then
        best = redis.call('HGET', KEYS[2], who)
      end
    end
    return {'completed', count, 'completed', best, tonumber(rfq[6]) or 0}
  end
  return {'stored', count, status}
end

for i = 5, #ARGV - 4, 5 do
  replies[#replies + 1] = add_one(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
end

flush_members()
if count ~= count_at_start then
  redis.call('HSET', KEYS[1], 'count', count)
  if count_at_start == 0 and rfq_ttl() > 0 then
    -- the first priced quotes: this call's ZADD created the ranking
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
end
for _, field in ipairs(rfq_fields) do
  if rfq_inc[field] > 0 then
    redis.call('HINCRBY', KEYS[1], field, rfq_inc[field])
  end
end
for _, field in ipairs(usage_fields) do
  if usage_inc[field] > 0 then
    redis.call('HINCRBY', KEYS[6], field, usage_inc[field])
  end
end
return replies
