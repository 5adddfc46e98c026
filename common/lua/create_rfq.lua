-- Create an open RFQ, index it for listing and register its deadline, atomically.
-- KEYS: 1 rfq hash, 2 tenant index zset, 3 deadline zset
-- ARGV: 1 rfq_id, 2 tenant, 3 created_ms, 4 deadline_ms, 5 max_quotes, 6 currency,
--       7 request JSON, 8 deadline member, 9 retention_ms
-- Returns 1 when created, 0 when the id already existed (nothing changed).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
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
return 1
