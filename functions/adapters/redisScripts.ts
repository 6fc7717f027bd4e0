import { VERSION_MARK } from './redisValueCodec';

const luaString = (text: string): string =>
  `"${[...text].map((char) => `\\${char.charCodeAt(0).toString().padStart(3, '0')}`).join('')}"`;

/**
 * Writes every key of KEYS in one call, in the mode ARGV[1] (`overwrite`, `ifAbsent` or `ifNewer`).
 * ARGV then has three fields per key: the incoming version ('' for none), the TTL in ms ('0' for
 * none), and the stored bytes. `ifNewer` replaces a value only when it holds no version or an older
 * one; the script is atomic, so concurrent writers of versions 5 and 6 always leave 6.
 * Returns `{ codes, details }`: `codes` has one character per key, `w` written, `s` skipped or `e`
 * refused; `details` lists, for each key not written, its 1-based position and the cached version
 * (`s` in ifNewer), '' (`s` in ifAbsent) or the error (`e`).
 */
export const WRITE_ENTRIES_LUA = `
local mark = ${luaString(VERSION_MARK)}
local mode = ARGV[1]
local codes = {}
local details = {}
for i, key in ipairs(KEYS) do
  local base = 1 + (i - 1) * 3
  local incoming = ARGV[base + 1]
  local ttl = ARGV[base + 2]
  local payload = ARGV[base + 3]
  local cachedText = nil
  if mode == 'ifNewer' then
    local current = redis.pcall('GET', key)
    if type(current) == 'string' and string.sub(current, 1, #mark) == mark then
      local separator = string.find(current, ':', #mark + 1, true)
      if separator then cachedText = string.sub(current, #mark + 1, separator - 1) end
    end
    local cached = cachedText and tonumber(cachedText)
    if not (cached and (incoming == '' or tonumber(incoming) <= cached)) then cachedText = nil end
  end
  if cachedText then
    codes[i] = 's'
    details[#details + 1] = i
    details[#details + 1] = cachedText
  else
    local reply
    if mode == 'ifAbsent' then
      if ttl == '0' then reply = redis.pcall('SET', key, payload, 'NX')
      else reply = redis.pcall('SET', key, payload, 'PX', ttl, 'NX') end
    elseif ttl == '0' then reply = redis.pcall('SET', key, payload)
    else reply = redis.pcall('SET', key, payload, 'PX', ttl) end
    if type(reply) == 'table' and reply.err then
      codes[i] = 'e'
      details[#details + 1] = i
      details[#details + 1] = reply.err
    elseif not reply then
      codes[i] = 's'
      details[#details + 1] = i
      details[#details + 1] = ''
    else
      codes[i] = 'w'
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
