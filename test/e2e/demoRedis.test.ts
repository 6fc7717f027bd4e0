import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { decode as decodeMessagePack } from '@msgpack/msgpack';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleOrigin, defaultSampleOrigin, productKey } from '../../functions/local/sampleCatalog';
import { type SampleOriginServer, startSampleOriginServer } from '../../functions/local/sampleOriginServer';
import { type LocalRedis, startRedisServer } from '../support/redisServer';

const execFileAsync = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

let origin: SampleOriginServer;
/** A redis-server for each test, so the tests run at once without meeting in one key space. */
const servers: LocalRedis[] = [];

beforeAll(async () => {
  origin = await startSampleOriginServer(createSampleOrigin({ ...defaultSampleOrigin, meanLatencyMs: 0 }));
});

afterAll(async () => {
  await origin?.close();
  await Promise.all(servers.map((server) => server.stop()));
});

const startRedis = async (): Promise<LocalRedis> => {
  const redis = await startRedisServer();
  servers.push(redis);
  return redis;
};

/** Runs `npm start -- …` as a user would, with `REDIS_URL` pointing at a private redis-server. */
const runDemo = (redis: LocalRedis, args: string[], variables: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn('npm', ['start', '--', ...args], {
      cwd: projectRoot,
      env: { ...process.env, ...variables, REDIS_URL: redis.url },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });

describe.concurrent('npm start with REDIS_URL', () => {
  it('leaves in Redis exactly the JSON the sample origin serves for each product', async () => {
    const redis = await startRedis();
    const { code, stderr } = await runDemo(redis, ['--keys', '50', '--reads', '100', '--json']);
    expect(code, stderr).toBe(0);

    for (const id of [0, 1, 42]) {
      const key = productKey(id);
      const served = await (await fetch(origin.urlTemplate.replace('{key}', encodeURIComponent(key)))).text();
      const { stdout } = await execFileAsync('redis-cli', ['-p', String(redis.port), 'GET', key]);
      expect(stdout).toBe(`${served}\n`);
    }
  }, 120_000);

  it('writes under the key template, in the encoding and compression its variables set', async () => {
    const redis = await startRedis();
    const { code, stderr } = await runDemo(redis, ['--keys', '50', '--reads', '100', '--json'], {
      CODOMYRMEX_WARMING_CACHE_KEY_TEMPLATE: 'app:v3:{key}',
      CODOMYRMEX_WARMING_CACHE_ENCODING: 'msgpack',
      CODOMYRMEX_WARMING_CACHE_COMPRESSION: 'gzip',
    });
    expect(code, stderr).toBe(0);

    // Read as the application would: its own client, gunzip, then a MessagePack decoder, which gives
    // the origin's body as it was served (the HTTP source stores the body's bytes, not a re-parse).
    const application = new Redis(redis.url);
    try {
      for (const id of [0, 1, 42]) {
        const key = productKey(id);
        const served = await (
          await fetch(origin.urlTemplate.replace('{key}', encodeURIComponent(key)))
        ).text();
        const stored = await application.getBuffer(`app:v3:${key}`);
        expect(stored, key).not.toBeNull();
        const decoded = decodeMessagePack(gunzipSync(stored as Buffer));
        expect(decoded).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(decoded as Uint8Array).toString()).toBe(served);
        expect(await application.exists(key)).toBe(0);
      }
    } finally {
      application.disconnect();
    }
  }, 120_000);
});
