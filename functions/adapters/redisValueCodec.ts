/** Turns cached values into the bytes stored in Redis and back. */
export interface RedisSerializer<V> {
  serialize(value: V): Buffer | string;
  deserialize(buffer: Buffer): V;
}

const STRING_TAG = 0x73; // 's'
const BUFFER_TAG = 0x62; // 'b'
const JSON_TAG = 0x6a; // 'j'

/**
 * The default encoding: one type-tag byte, then the payload. `s` + UTF-8 for strings and `b` + the
 * bytes for Buffers (both round-trip raw, with no JSON escaping or base64), `j` + JSON for every other
 * value (objects, arrays, numbers, booleans, null). Values JSON cannot express (`undefined`,
 * functions, BigInt) are rejected when written.
 */
export const taggedSerializer: RedisSerializer<unknown> = {
  serialize(value) {
    if (typeof value === 'string') return Buffer.concat([Buffer.of(STRING_TAG), Buffer.from(value, 'utf8')]);
    if (Buffer.isBuffer(value)) return Buffer.concat([Buffer.of(BUFFER_TAG), value]);
    if (value instanceof Uint8Array) return Buffer.concat([Buffer.of(BUFFER_TAG), value]);
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`a ${typeof value} cannot be encoded as JSON`);
    return Buffer.concat([Buffer.of(JSON_TAG), Buffer.from(json, 'utf8')]);
  },
  deserialize(buffer) {
    const payload = buffer.subarray(1);
    switch (buffer[0]) {
      case STRING_TAG:
        return payload.toString('utf8');
      case BUFFER_TAG:
        return Buffer.from(payload);
      case JSON_TAG:
        return JSON.parse(payload.toString('utf8'));
      default:
        throw new TypeError('the cached value was not written with RedisStore’s default serializer');
    }
  },
};

/**
 * Marks a value written with `ifNewer`: `VERSION_MARK`, the version in decimal, `:`, then the
 * serialized value. The version lives in the value's own key, so it expires with it, sits in the same
 * hash slot, and is compared and replaced atomically by one Lua script.
 */
export const VERSION_MARK = '\u0000cwv:';
const VERSION_MARK_BYTES = Buffer.from(VERSION_MARK, 'latin1');
const SEPARATOR = 0x3a; // ':'

/** The stored bytes of a versioned value. */
export const withVersion = (payload: Buffer, version: number): Buffer =>
  Buffer.concat([VERSION_MARK_BYTES, Buffer.from(`${version}:`, 'latin1'), payload]);

/** The serialized value inside stored bytes, without the version header when there is one. */
export const withoutVersion = (stored: Buffer): Buffer => {
  if (stored.length < VERSION_MARK_BYTES.length) return stored;
  if (!stored.subarray(0, VERSION_MARK_BYTES.length).equals(VERSION_MARK_BYTES)) return stored;
  const separator = stored.indexOf(SEPARATOR, VERSION_MARK_BYTES.length);
  return separator < 0 ? stored : stored.subarray(separator + 1);
};
