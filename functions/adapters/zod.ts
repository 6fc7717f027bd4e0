import { en } from 'zod/locales';
import { config, type core } from 'zod/mini';

// zod/mini tree-shakes to a third of classic zod in the bundles, but has no error messages until a
// locale is set. Every schema module imports zod/mini through this file (`import * as z from './zod'`),
// so English, classic zod's default and the texts users and tests see, is set before any parse; `en`
// alone, because `z.locales.en()` would bundle every locale. package.json lists this file under
// `sideEffects`, so bundlers keep this call wherever the module is imported.
config(en());

// `export *`, not `export { z }`: a namespace re-exported as a value is bundled whole (every locale).
export * from 'zod/mini';

/** Describes zod issues as `path: problem; …`, the way every payload error of the project reads. */
export const describeIssues = (error: core.$ZodError): string =>
  error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
