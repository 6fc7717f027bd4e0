import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `npm start -- …` as a user would, with no Redis configured: everything in process. */
const runDemo = (args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const { REDIS_URL: _ignored, ...env } = process.env;
    const child = spawn('npm', ['start', '--', ...args], { cwd: projectRoot, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

describe('npm start', () => {
  it('runs the demo to the end and prints the figures of its runs as one JSON document', async () => {
    const { code, stdout, stderr } = await runDemo(['--keys', '2000', '--reads', '5000', '--json']);

    expect(code, stderr).toBe(0);
    // npm prints its own "> … start" banner first; the demo's document is the last line.
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
    expect(report).toMatchObject({
      keys: 2_000,
      cacheUrl: 'memory://local',
      // product:1999 is broken at the sample origin; product:3, 503, 1003 and 1503 have no value.
      scheduledWarm: {
        status: 'finished',
        trigger: 'schedule',
        planned: 2_000,
        warmed: 1_995,
        failed: 1,
        skipped: 4,
      },
      reads: 5_000,
      adaptiveWarm: { status: 'finished', trigger: 'local', failed: 0 },
      deadLetters: [{ keys: ['product:1999'], reason: 'failed 2 deliveries' }],
    });
    expect(report.deadLetters[0].errors['product:1999']).toMatch(/503 .*product 1999 is corrupt/);
    expect(report.hotKeys[0].key).toBe('product:0');
    expect(report.cacheHitRate).toBeGreaterThan(0.9);
  }, 180_000);
});
