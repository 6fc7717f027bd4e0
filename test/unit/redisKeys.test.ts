import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internalKey, isReservedKey, parseKeyTemplate } from '../../functions/adapters/redisKeys';
import { calculateSlot } from '../../functions/adapters/redisSlots';

/** Keys with braces in every position, so some have a hash tag and some only look as if they had. */
const cacheKeys = fc.string({ unit: fc.constantFrom('{', '}', ':', 'a', 'b', '1', ' ', 'é'), maxLength: 12 });

describe('internalKey', () => {
  it('lands in its cache key’s slot, in the reserved key space, whatever braces the key holds', () => {
    fc.assert(
      fc.property(cacheKeys, fc.constantFrom('lease' as const, 'version' as const), (cacheKey, kind) => {
        const key = internalKey(kind, cacheKey);
        expect(calculateSlot(key)).toBe(calculateSlot(cacheKey));
        expect(isReservedKey(key)).toBe(true);
        expect(key.endsWith(cacheKey)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseKeyTemplate', () => {
  it('puts the warm key wherever {key} stands, hash tags and prefixes kept', () => {
    expect(parseKeyTemplate('app:v3:{key}', undefined)('product:1')).toBe('app:v3:product:1');
    expect(parseKeyTemplate('app:{tenant}:{key}:json', undefined)('7')).toBe('app:{tenant}:7:json');
    expect(parseKeyTemplate('{{key}}', undefined)('user:1')).toBe('{user:1}');
    expect(parseKeyTemplate('{key}|{key}', undefined)('a')).toBe('a|a');
    expect(parseKeyTemplate(undefined, 'app:')('k')).toBe('app:k');
    expect(parseKeyTemplate(undefined, undefined)('k')).toBe('k');
  });
});
