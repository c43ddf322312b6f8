-- Portcullis GCRA, one bucket per call (policy/ratelimit/gcra.go explains the
-- state). Kept in step with params.charge and params.refund in gcra.go.
-- KEYS[1]: bucket hash {t = µs of last write, d = owed units × per µs}
-- ARGV: rate, per (µs), burst, n (cost or refund units), now (µs; 0 = Redis
-- TIME), mode ("a" allow, "r" refund)
-- Returns {allowed, remaining, reset µs, retry µs, too expensive}.
local rate = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local mode = ARGV[6]

-- Exact floor division for the integers below 2^53 used here.
local function idiv(a, b)
  local q = math.floor(a / b)
  local r = a - q * b
  if r < 0 then q = q - 1 elseif r >= b then q = q + 1 end
  return q
end
local function cdiv(a, b)
  if a <= 0 then return 0 end
  return -idiv(-a, b)
end

if now == 0 then
  -- Scripts that read TIME must replicate effects; Redis >= 5 does so by
  -- default and keeps this call as a no-op.
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local st = redis.call('HMGET', KEYS[1], 't', 'd')
local debt = 0
if st[1] and st[2] then
  local t0 = tonumber(st[1]) or now
  debt = tonumber(st[2]) or 0
  local el = now - t0
  if el > 0 and debt > 0 then
    if el >= idiv(debt, rate) + 1 then
      debt = 0
    else
      debt = debt - el * rate
    end
  end
  if debt < 0 then debt = 0 end
end

local function store(d)
  if d <= 0 then
    redis.call('DEL', KEYS[1])
    return
  end
  redis.call('HSET', KEYS[1], 't', string.format('%.0f', now), 'd', string.format('%.0f', d))
  redis.call('PEXPIRE', KEYS[1], math.max(cdiv(cdiv(d, rate), 1000), 1))
end

if mode == 'r' then
  if st[1] and st[2] then store(debt - n * per) end
  return 0
end

local limit = burst * per
if n > burst then
  return {0, idiv(limit - debt, per), cdiv(debt, rate), 0, 1}
end
local nd = debt + n * per
if nd > limit then
  return {0, idiv(limit - debt, per), cdiv(debt, rate), cdiv(nd - limit, rate), 0}
end
if n > 0 then store(nd) end
return {1, idiv(limit - nd, per), cdiv(nd, rate), 0, 0}
