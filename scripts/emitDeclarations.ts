import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../infra/functionBundling';

/** A relative module specifier in a declaration file: `from './x'`, `import('../y')`. */
const RELATIVE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"]*)\2/g;

/**
 * The specifier NodeNext resolves to the same declarations: the sources import without extensions
 * (`./AccessReporter`, `../core`), as their bundler resolution allows, and Node's ESM resolution
 * needs the file (`./AccessReporter.js`, `../core/index.js`).
 */
const nodeNextSpecifier = (declarationFile: string, specifier: string): string => {
  if (/\.[cm]?js$/.test(specifier)) return specifier;
  const target = resolve(dirname(declarationFile), specifier);
  if (existsSync(`${target}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(target, 'index.d.ts'))) return `${specifier.replace(/\/$/, '')}/index.js`;
  throw new Error(`${declarationFile}: no declarations for ${specifier}`);
};

const declarationFiles = async (directory: string): Promise<string[]> =>
  (await readdir(directory, { recursive: true }))
    .filter((file) => file.endsWith('.d.ts'))
    .map((file) => join(directory, file));

/**
 * Type declarations of the package's entries in `outdir` (tsc, tsconfig.build.json), their relative
 * imports rewritten as NodeNext resolves them, so consumers with `moduleResolution: NodeNext`, `Node16`
 * or `Bundler` all read the same types.
 */
export const emitDeclarations = async (outdir: string): Promise<void> => {
  await promisify(execFile)(
    process.execPath,
    [join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outdir],
    { cwd: PROJECT_ROOT },
  );
  for (const file of await declarationFiles(outdir)) {
    const declarations = await readFile(file, 'utf8');
    const rewritten = declarations.replace(
      RELATIVE_SPECIFIER,
      (_match, keyword: string, quote: string, specifier: string) =>
        `${keyword}${quote}${nodeNextSpecifier(file, specifier)}${quote}`,
    );
    if (rewritten !== declarations) await writeFile(file, rewritten);
  }
};
