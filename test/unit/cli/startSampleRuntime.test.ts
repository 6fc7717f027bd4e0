import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../functions/local/cli/errors';
import { startSampleRuntime } from '../../../functions/local/cli/startSampleRuntime';

describe('startSampleRuntime', () => {
  it.each([
    [{ CODOMYRMEX_WARMING_MAX_WORKERS: 'many' }, 'CODOMYRMEX_WARMING_MAX_WORKERS'],
    [{ CODOMYRMEX_WARMING_KEY_SOURCES: '[{"type":"ftp"}]' }, 'CODOMYRMEX_WARMING_KEY_SOURCES'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL: expected redis://host:port'],
    [{ CODOMYRMEX_WARMING_CACHE_ENCODING: 'protobuf' }, 'CODOMYRMEX_WARMING_CACHE_ENCODING'],
  ])(
    'refuses a malformed variable as a usage error naming it, before starting anything',
    async (env, variable) => {
      const start = startSampleRuntime(env);
      await expect(start).rejects.toThrow(UsageError);
      await expect(start).rejects.toThrow(variable);
    },
  );
});
