import { type Figure, meetsGoal } from './report';

// The AWS SDK's once-a-process notice that its 2027 releases need Node 22 is no figure of ours.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** A benchmark scenario: runs, prints its figures, and returns them for the summary. */
export type Scenario = () => Promise<Figure[]>;

/** Scenarios run one after another, so they never compete for the machine's two cores. */
const scenarios: { name: string; load: () => Promise<{ run: Scenario }> }[] = [
  { name: 'core engine', load: () => import('./coreEngine') },
  { name: 'access tracker', load: () => import('./accessTracker') },
  { name: 'warm fan-out', load: () => import('./fanOut') },
  { name: 'run records', load: () => import('./runRecords') },
  { name: 'access tracking', load: () => import('./accessTracking') },
  { name: 'redis store', load: () => import('./redisStore') },
  { name: 'function bundles', load: () => import('./bundles') },
  { name: 'package', load: () => import('./package') },
];

/** `npm run bench -- bundles` runs only the scenarios whose name holds one of the words given. */
const only = process.argv.slice(2);
const chosen = scenarios.filter(({ name }) => only.length === 0 || only.some((word) => name.includes(word)));

const figures: Figure[] = [];
for (const { name, load } of chosen) {
  try {
    const { run } = await load();
    figures.push(...(await run()));
  } catch (error) {
    console.error(`\n${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
const missed = figures.filter((figure) => meetsGoal(figure) === false);
console.log(`\n${figures.length} figures, ${missed.length} below goal`);
