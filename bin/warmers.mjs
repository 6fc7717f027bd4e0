#!/usr/bin/env node
// `npx warmers`: the compiled CLI (dist/cli) of the installed package. In the project's own checkout,
// where the sources are, it runs bin/warmers.ts through tsx instead, so the CLI needs no build there.
import { existsSync } from 'node:fs';

if (existsSync(new URL('./warmers.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./warmers.ts');
} else {
  await import('../dist/cli/warmers.js');
}
