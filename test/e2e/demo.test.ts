import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `npm start --silent -- … | jq -c .` in a shell as a user would, through a real pipe, with no
 * Redis configured (everything in process) and without the test runner's variables.
 */
const runDemo = (args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const {
      REDIS_URL: _redis,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _notice,
      ...env
    } = process.env;
    const child = spawn(
      'bash',
      ['-c', `set -o pipefail; npm start --silent -- ${args.join(' ')} | jq -c .`],
      { cwd: projectRoot, env },
    );
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
  it('runs the demo to the end and pipes the figures of its runs to jq as one JSON document', async () => {
    const { code, stdout, stderr } = await runDemo(['--keys', '2000', '--reads', '5000', '--json']);

    expect(code, stderr).toBe(0);
    // stdout holds the document and nothing else; stderr holds no SDK notice about Node versions.
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toContain('NodeVersionSupportWarning');
    const report = JSON.parse(stdout);
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
