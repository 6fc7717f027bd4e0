#!/usr/bin/env node
// `npx warmers`: runs bin/warmers.ts through tsx, so the CLI needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('./warmers.ts');
