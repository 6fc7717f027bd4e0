import { UsageError } from './errors';
import { formatTime } from './formatResults';
import type { WarmerFunctions } from './types';

/** The shortest prefix of a run id that is looked up among the recent runs. */
export const MIN_RUN_ID_PREFIX = 8;
/** How many of the latest runs a prefix is matched against: the most `runs` lists at once. */
const SEARCHED_RUNS = 100;
const FULL_RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The run id a person means: a whole id as given, or the one recent run whose id starts with a
 * prefix of at least 8 characters. An id that matches no recent run is passed on as given, so the
 * control function says whether it exists.
 * @throws UsageError listing the runs an ambiguous prefix matches
 *
 * @example
 * await resolveRunId(functions, '3f1c9a2e'); // '3f1c9a2e-5b7d-4c1e-9f00-1a2b3c4d5e6f'
 */
export const resolveRunId = async (functions: WarmerFunctions, given: string): Promise<string> => {
  if (FULL_RUN_ID.test(given) || given.length < MIN_RUN_ID_PREFIX) return given;
  const { runs } = await functions.control({ action: 'runs', limit: SEARCHED_RUNS });
  if (runs.some((run) => run.runId === given)) return given;
  const matches = runs.filter((run) => run.runId.startsWith(given));
  const [only] = matches;
  if (matches.length === 1 && only) return only.runId;
  if (matches.length > 1)
    throw new UsageError(
      `run id ${given} is ambiguous, ${matches.length} runs start with it: ` +
        matches.map((run) => `${run.runId} (${run.status}, ${formatTime(run.startedAt)})`).join(', ') +
        '; give more of the id',
    );
  return given;
};
