import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_KEY_BYTES } from '../../../functions/adapters/warmMessage';
import { UsageError } from '../../../functions/local/cli/errors';
import { parseKeyFile, readKeyFile } from '../../../functions/local/cli/readKeyFile';

describe('parseKeyFile', () => {
  it('reads one key per line, skipping blanks and # comments', () => {
    expect(parseKeyFile('k.txt', '# hot products\nproduct:1\r\n\n  product:2  \n')).toEqual([
      'product:1',
      'product:2',
    ]);
  });

  it('reads a JSON array of keys', () => {
    expect(parseKeyFile('k.json', ' ["a", "b"]\n')).toEqual(['a', 'b']);
  });

  it.each([
    ['["a", ', 'looks like JSON but does not parse'],
    ['{"keys": ["a"]}', 'must hold a JSON array of keys'],
    ['["a", 7]', 'key 1 (7)'],
    ['# nothing\n\n', 'has no keys: write one key per line, or a JSON array of keys'],
    ['[]', 'has no keys'],
    [`${'x'.repeat(MAX_KEY_BYTES + 1)}\n`, `a key must be at most ${MAX_KEY_BYTES} bytes`],
  ])('rejects %j naming the file', (text, message) => {
    expect(() => parseKeyFile('k.txt', text)).toThrow(UsageError);
    expect(() => parseKeyFile('k.txt', text)).toThrow(`--file k.txt`);
    expect(() => parseKeyFile('k.txt', text)).toThrow(message);
  });
});

describe('readKeyFile', () => {
  it('reads a file, and says so when there is none', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'warmers-keys-'));
    const file = join(directory, 'keys.txt');
    await writeFile(file, 'a\nb\n');
    expect(await readKeyFile(file)).toEqual(['a', 'b']);
    await expect(readKeyFile(join(directory, 'missing.txt'))).rejects.toThrow(
      `--file ${join(directory, 'missing.txt')} cannot be read: no such file`,
    );
  });
});
