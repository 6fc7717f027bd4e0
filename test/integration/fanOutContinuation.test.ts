import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);

describe('warm fan-out over continuations', () => {
  it('enumerates 3,000,000 streamed keys across at least three continuations with a 128 MB heap, each key queued exactly once', async () => {
    const child = fileURLToPath(new URL('../support/fanOutContinuationChild.ts', import.meta.url));
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--max-old-space-size=128', '--import', 'tsx', child, '3000000', '7000'],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');

    expect(result.segments).toBeGreaterThanOrEqual(4);
    expect(result).toMatchObject({ keysQueuedOnce: 3_000_000, keysQueuedTwice: 0, keysMissing: 0 });
    expect(result.run).toMatchObject({
      status: 'finished',
      planning: false,
      keysPlanned: 3_000_000,
      keysWarmed: 3_000_000,
      messages: 30_000,
    });
  }, 600_000);
});
