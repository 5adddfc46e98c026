-- Claim RFQs whose deadline passed and close the open ones as expired. ZREM inside the
-- script makes each claim exclusive: with several aggregators, each RFQ closes once.
-- Each due RFQ also leaves its tenant's open set, and each one expired here counts as
-- 'expired' in its tenant's usage of month ARGV[4].
-- KEYS: 1 deadline zset
-- ARGV: 1 cutoff_ms (deadline <= cutoff is due), 2 batch limit, 3 now_ms, 4 month (YYYY-MM
--       of now_ms, UTC; when absent nothing is metered)
-- Returns a flat list {member, count, member, count, ...} of the RFQs it expired.
-- The RFQ hash, open-set and usage keys are derived from the members ("<tenant>/<rfq_id>"),
-- which is fine on a single Redis; a cluster deployment would sweep per slot instead.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  local slash = string.find(m, '/', 1, true)
  if slash then
    local tenant, id = string.sub(m, 1, slash - 1), string.sub(m, slash + 1)
    local key = 'rfq:' .. tenant .. ':{' .. id .. '}'
    redis.call('ZREM', 'rfq:' .. tenant .. ':open', id)
    if redis.call('HGET', key, 'status') == 'open' then
      redis.call('HSET', key, 'status', 'expired', 'closed_ms', ARGV[3])
      if ARGV[4] then
        redis.call('HINCRBY', 'rfq:' .. tenant .. ':usage:' .. ARGV[4], 'expired', 1)
      end
      out[#out + 1] = m
      out[#out + 1] = redis.call('HGET', key, 'count')
    end
  end
end
return out
