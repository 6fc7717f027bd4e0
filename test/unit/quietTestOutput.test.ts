import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * With `silent: 'passed-only'`, vitest shows what a test printed through the console only when it
 * fails; the setup file routes what code writes to stdout and stderr itself through the console.
 */
describe('test output', () => {
  it('routes a JSON log line written to stdout through console.log', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const done = vi.fn();
    expect(process.stdout.write('{"level":"WARN","message":"warm skipped"}\n', done)).toBe(true);
    expect(log).toHaveBeenCalledWith('{"level":"WARN","message":"warm skipped"}');
    expect(done).toHaveBeenCalled();
  });

  it('routes a notice written to stderr through console.error', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    process.stderr.write(Buffer.from('Bundling asset CacheWarmers/Warmer/warmFunction/Code/Stage...\n'));
    expect(error).toHaveBeenCalledWith('Bundling asset CacheWarmers/Warmer/warmFunction/Code/Stage...');
  });
});
