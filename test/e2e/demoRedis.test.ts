import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleOrigin, defaultSampleOrigin, productKey } from '../../functions/local/sampleCatalog';
import { type SampleOriginServer, startSampleOriginServer } from '../../functions/local/sampleOriginServer';
import { type LocalRedis, startRedisServer } from '../support/redisServer';

const execFileAsync = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

let redis: LocalRedis;
let origin: SampleOriginServer;

beforeAll(async () => {
  redis = await startRedisServer();
  origin = await startSampleOriginServer(createSampleOrigin({ ...defaultSampleOrigin, meanLatencyMs: 0 }));
});

afterAll(async () => {
  await origin?.close();
  await redis?.stop();
});

/** Runs `npm start -- …` as a user would, with `REDIS_URL` pointing at a private redis-server. */
const runDemo = (args: string[]) =>
  new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn('npm', ['start', '--', ...args], {
      cwd: projectRoot,
      env: { ...process.env, REDIS_URL: redis.url },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });

describe('npm start with REDIS_URL', () => {
  it('leaves in Redis exactly the JSON the sample origin serves for each product', async () => {
    const { code, stderr } = await runDemo(['--keys', '50', '--reads', '100', '--json']);
    expect(code, stderr).toBe(0);

    for (const id of [0, 1, 42]) {
      const key = productKey(id);
      const served = await (await fetch(origin.urlTemplate.replace('{key}', encodeURIComponent(key)))).text();
      const { stdout } = await execFileAsync('redis-cli', ['-p', String(redis.port), 'GET', key]);
      expect(stdout).toBe(`${served}\n`);
    }
  }, 120_000);
});
