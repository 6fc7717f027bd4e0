import { type ChildProcess, spawn } from 'node:child_process';

/**
 * `npm test`: the lint and the type check run beside the tests instead of before them (the type check
 * alone takes half a minute of a 2-core machine). Their output is held back and printed after the
 * tests', when they fail. Arguments go to vitest: `npm test -- test/unit/planKeys.test.ts`.
 */
const exitOf = (child: ChildProcess): Promise<number> =>
  new Promise((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

const check = (script: string) => {
  const child = spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return exitOf(child).then((code) => ({ script, code, output }));
};

const checks = Promise.all([check('lint'), check('typecheck')]);
const tests = await exitOf(spawn('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit' }));

let failed = tests !== 0;
for (const { script, code, output } of await checks) {
  if (code === 0) continue;
  failed = true;
  process.stderr.write(`\nnpm run ${script} failed (exit ${code}):\n${output}`);
}
process.exitCode = failed ? 1 : 0;
