import { readFile } from 'node:fs/promises';
import { validateKeys } from '../../adapters/warmMessage';
import { describeError, InvalidKeyError } from '../../core';
import { UsageError } from './errors';

/**
 * The keys of a `warm --file`: a JSON array of strings, or one key per line (surrounding blanks,
 * empty lines and `#` comment lines ignored).
 * @throws UsageError naming the file and what is wrong with it
 */
export const parseKeyFile = (path: string, text: string): string[] => {
  const trimmed = text.trim();
  let keys: unknown[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`--file ${path} looks like JSON but does not parse: ${describeError(error)}`);
    }
    if (!Array.isArray(json))
      throw new UsageError(`--file ${path} must hold a JSON array of keys, e.g. ["product:1", "product:2"]`);
    keys = json;
  } else {
    keys = text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
  }
  if (keys.length === 0)
    throw new UsageError(`--file ${path} has no keys: write one key per line, or a JSON array of keys`);
  try {
    return validateKeys(keys);
  } catch (error) {
    if (error instanceof InvalidKeyError) throw new UsageError(`--file ${path}: ${error.message}`);
    throw error;
  }
};

/** Reads and parses a `warm --file`. @throws UsageError when it cannot be read or holds no valid keys */
export const readKeyFile = async (path: string): Promise<string[]> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : describeError(error);
    throw new UsageError(`--file ${path} cannot be read: ${reason}`, { cause: error });
  }
  return parseKeyFile(path, text);
};
