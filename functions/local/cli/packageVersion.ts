import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = '@codomyrmex/cache-warmers';

/**
 * The version in this package's package.json, found by walking up from this file: the same from the
 * source tree and from a compiled copy, wherever the build puts it.
 */
export const packageVersion = (from: string = fileURLToPath(import.meta.url)): string => {
  for (let directory = dirname(from); ; directory = dirname(directory)) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === PACKAGE_NAME && manifest.version) return manifest.version;
    } catch {
      // No package.json here (or not ours): look further up.
    }
    if (dirname(directory) === directory) return 'unknown';
  }
};
