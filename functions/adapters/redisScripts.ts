/**
 * Writes every entry in one call, in the mode ARGV[1] (`overwrite`, `ifAbsent` or `ifNewer`). KEYS
 * holds two keys per entry: its cache key and the key its version is kept in (same slot, see
 * `internalKey`). ARGV then has, per entry: the incoming version ('' for none), the TTL in ms ('0' for
 * none), the number of hash fields (0 for a string value), then the value's bytes (a string) or its
 * field/value pairs (a hash, which replaces the whole hash).
 *
 * `ifAbsent` writes only a missing key; `ifNewer` replaces a cached value only when no version is kept
 * beside it or an older one, and keeps the incoming version there with the value's TTL. The script is
 * atomic, so concurrent writers of versions 5 and 6 always leave 6.
 * Returns `{ codes, details }`: `codes` has one character per entry, `w` written, `s` skipped or `e`
 * refused; `details` lists, for each entry not written, its 1-based position and the cached version
 * (`s` in ifNewer), '' (`s` in ifAbsent) or the error (`e`).
 */
export const WRITE_ENTRIES_LUA = `
local mode = ARGV[1]
local codes = {}
local details = {}
local cursor = 2
for i = 1, #KEYS, 2 do
  local key = KEYS[i]
  local versionKey = KEYS[i + 1]
  local position = (i + 1) / 2
  local incoming = ARGV[cursor]
  local ttl = ARGV[cursor + 1]
  local fieldCount = tonumber(ARGV[cursor + 2])
  local first = cursor + 3
  if fieldCount == 0 then cursor = first + 1 else cursor = first + fieldCount * 2 end
  local skipped = nil
  if mode ~= 'overwrite' and redis.call('EXISTS', key) == 1 then
    if mode == 'ifAbsent' then
      skipped = ''
    else
      local cached = redis.call('GET', versionKey)
      local cachedNumber = cached and tonumber(cached)
      if cachedNumber and (incoming == '' or tonumber(incoming) <= cachedNumber) then skipped = cached end
    end
  end
  if skipped then
    codes[position] = 's'
    details[#details + 1] = position
    details[#details + 1] = skipped
  else
    local reply
    if fieldCount == 0 then
      if ttl == '0' then reply = redis.pcall('SET', key, ARGV[first])
      else reply = redis.pcall('SET', key, ARGV[first], 'PX', ttl) end
    else
      reply = redis.pcall('DEL', key)
      local from = first
      while from < cursor and not (type(reply) == 'table' and reply.err) do
        local to = math.min(from + 999, cursor - 1)
        reply = redis.pcall('HSET', key, unpack(ARGV, from, to))
        from = to + 1
      end
      if not (type(reply) == 'table' and reply.err) and ttl ~= '0' then
        reply = redis.pcall('PEXPIRE', key, ttl)
      end
    end
    if type(reply) == 'table' and reply.err then
      codes[position] = 'e'
      details[#details + 1] = position
      details[#details + 1] = reply.err
    else
      codes[position] = 'w'
      if incoming ~= '' then
        if ttl == '0' then redis.call('SET', versionKey, incoming)
        else redis.call('SET', versionKey, incoming, 'PX', ttl) end
      elseif mode == 'ifNewer' then
        redis.call('DEL', versionKey)
      end
    end
  end
end
return { table.concat(codes), details }
`;

/**
 * Sets the TTL of each key of KEYS to ARGV[i] ms. Sent with EVAL, not EVALSHA, inside the MULTI that
 * MSETs the same keys: a NOSCRIPT there would leave them written without a TTL. Only the small TTLs
 * pass through Lua; values copied through Lua cost the server about twice a native write's CPU.
 */
export const EXPIRE_ENTRIES_LUA = `
for i, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[i]) end
return #KEYS
`;

/**
 * Leases each key of KEYS to ARGV[1] for ARGV[2] ms unless another owner holds it; the same owner
 * re-acquiring extends its lease. Returns 1 or 0 per key.
 */
export const ACQUIRE_LEASES_LUA = `
local results = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
    results[i] = 1
  elseif redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    results[i] = 1
  else
    results[i] = 0
  end
end
return results
`;

/** Deletes each lease of KEYS that ARGV[1] holds, leaving others' leases alone. */
export const RELEASE_LEASES_LUA = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
`;
