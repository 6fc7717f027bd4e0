import * as zlib from 'node:zlib';
import { decode as decodeMessagePack, encode as encodeMessagePack } from '@msgpack/msgpack';
import { ConfigurationError } from '../core';
import { omittedFromBundle } from './bundleParts';

/** How a value becomes the bytes of its cache key: what the application reads back. */
export type RedisEncoding = 'json' | 'msgpack';
export const REDIS_ENCODINGS: readonly RedisEncoding[] = ['json', 'msgpack'];

/** Compression applied to the encoded bytes. */
export type RedisCompression = 'none' | 'gzip' | 'brotli' | 'zstd';
export const REDIS_COMPRESSIONS: readonly RedisCompression[] = ['none', 'gzip', 'brotli', 'zstd'];

/** What each value is stored as: one string of bytes, or a hash of its fields. */
export type RedisValueType = 'string' | 'hash';
export const REDIS_VALUE_TYPES: readonly RedisValueType[] = ['string', 'hash'];

/**
 * An encoding of your own, e.g. the module your application's cache-aside code uses. `encode` turns a
 * value into the bytes stored under its key; `decode` (optional) is what `RedisStore.get` returns,
 * which without it is the stored bytes.
 */
export interface RedisValueEncoder<V = unknown> {
  encode(key: string, value: V): Uint8Array | string;
  decode?(key: string, bytes: Buffer): V;
}

/** Turns values into stored bytes and back, by one encoding and compression. */
export interface RedisValueCodec<V> {
  encode(key: string, value: V): Buffer;
  decode(key: string, bytes: Buffer): V;
}

interface BytesCodec {
  compress(bytes: Buffer): Buffer;
  decompress(bytes: Buffer): Buffer;
}

const zstd = zlib as typeof zlib & {
  zstdCompressSync?: (bytes: Buffer) => Buffer;
  zstdDecompressSync?: (bytes: Buffer) => Buffer;
};

const compressions: Record<RedisCompression, () => BytesCodec> = {
  none: () => ({ compress: (bytes) => bytes, decompress: (bytes) => bytes }),
  gzip: () => ({ compress: (bytes) => zlib.gzipSync(bytes), decompress: (bytes) => zlib.gunzipSync(bytes) }),
  brotli: () => ({
    compress: (bytes) => zlib.brotliCompressSync(bytes),
    decompress: (bytes) => zlib.brotliDecompressSync(bytes),
  }),
  zstd: () => {
    const { zstdCompressSync, zstdDecompressSync } = zstd;
    if (!zstdCompressSync || !zstdDecompressSync) {
      throw new ConfigurationError(
        'compression',
        `zstd needs a Node.js runtime with zlib zstd (22.15 or later); this one is ${process.version}`,
      );
    }
    return { compress: zstdCompressSync, decompress: zstdDecompressSync };
  },
};

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * A value as a cache-aside application stores it: a string as its UTF-8 bytes, a Buffer or other
 * Uint8Array as its bytes unchanged, anything else as `JSON.stringify(value)`. Nothing is added.
 * @throws TypeError for a value JSON cannot express (`undefined`, a function, a BigInt, a cycle).
 */
export const encodePlain = (value: unknown): Buffer => {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return asBuffer(value);
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`a ${typeof value} cannot be encoded as JSON`);
  return Buffer.from(json, 'utf8');
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * What {@link encodePlain} wrote, as an application reading it would take it: the parsed JSON when the
 * bytes are JSON text, else the text when they are UTF-8, else the bytes. A string that is itself JSON
 * text (`"42"`, `"true"`) therefore comes back parsed: the bytes do not say which was written.
 */
export const decodePlain = (bytes: Buffer): unknown => {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes);
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const encodeMessagePackValue = (value: unknown): Buffer => asBuffer(encodeMessagePack(value));

const decodeMessagePackValue = (bytes: Buffer): unknown =>
  decodeMessagePack(bytes, { useBigInt64: false }) as unknown;

/** Whether `encoding` is one this store knows or an encoder of one's own. */
const isEncoder = (encoding: unknown): encoding is RedisValueEncoder =>
  typeof encoding === 'object' &&
  encoding !== null &&
  typeof (encoding as RedisValueEncoder).encode === 'function' &&
  ((encoding as RedisValueEncoder).decode === undefined ||
    typeof (encoding as RedisValueEncoder).decode === 'function');

/**
 * The codec of an encoding and a compression, compression applied after encoding.
 * @throws ConfigurationError naming `encoding` or `compression` when either is unknown.
 */
export const createValueCodec = <V>(
  encoding: RedisEncoding | RedisValueEncoder<V> = 'json',
  compression: RedisCompression = 'none',
): RedisValueCodec<V> => {
  if (!REDIS_COMPRESSIONS.includes(compression)) {
    throw new ConfigurationError(
      'compression',
      `expected one of ${REDIS_COMPRESSIONS.join(', ')}, got ${JSON.stringify(compression)}`,
    );
  }
  const bytes = compressions[compression]();
  let encode: (key: string, value: V) => Buffer;
  let decode: (key: string, stored: Buffer) => V;
  if (encoding === 'json') {
    encode = (_key, value) => encodePlain(value);
    decode = (_key, stored) => decodePlain(stored) as V;
  } else if (encoding === 'msgpack') {
    // The bundle of a function deployed with another encoding leaves the MessagePack library out.
    if (process.env.CODOMYRMEX_BUNDLE_MSGPACK !== 'omitted') {
      encode = (_key, value) => encodeMessagePackValue(value);
      decode = (_key, stored) => decodeMessagePackValue(stored) as V;
    } else throw omittedFromBundle('encoding', 'msgpack needs the MessagePack encoder');
  } else if (isEncoder(encoding)) {
    encode = (key, value) => {
      const encoded = encoding.encode(key, value);
      if (typeof encoded === 'string') return Buffer.from(encoded, 'utf8');
      if (encoded instanceof Uint8Array) return asBuffer(encoded);
      throw new TypeError(`the encoder returned a ${typeof encoded}, not bytes or a string`);
    };
    const own = encoding.decode?.bind(encoding);
    decode = own ?? ((_key, stored) => Buffer.from(stored) as V);
  } else {
    throw new ConfigurationError(
      'encoding',
      `expected ${REDIS_ENCODINGS.join(', ')} or an object with encode(key, value), got ${JSON.stringify(encoding)}`,
    );
  }
  if (compression === 'none') return { encode, decode };
  return {
    encode: (key, value) => bytes.compress(encode(key, value)),
    decode: (key, stored) => decode(key, bytes.decompress(stored)),
  };
};

/**
 * The fields of a value stored as a hash: each top-level field of a plain object, a string as its text,
 * bytes unchanged, anything else (numbers, nested objects) as JSON text.
 * @throws TypeError when the value is not a plain object with at least one field.
 */
export const hashFields = (value: unknown): (string | Buffer)[] => {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new TypeError(`valueType hash needs an object with fields, got ${kind}`);
  }
  const fields: (string | Buffer)[] = [];
  for (const [field, fieldValue] of Object.entries(value)) {
    if (fieldValue === undefined) continue;
    fields.push(field, encodePlain(fieldValue));
  }
  if (fields.length === 0)
    throw new TypeError('valueType hash needs at least one field: Redis has no empty hash');
  return fields;
};

/** A hash read back: each field as {@link decodePlain} reads it. */
export const fromHashFields = (fields: Record<string, Buffer>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).map(([field, stored]) => [field, decodePlain(stored)]));
