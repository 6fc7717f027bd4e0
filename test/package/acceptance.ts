/**
 * The package as its users get it (`.ci/run` runs this after `npm test`): packs the project, installs
 * the tarball into fresh projects with only what each kind of user adds, and uses it there.
 * - No test, bench, CI or build file is packed.
 * - A plain Node ESM script warms a Map with the engine and reports reads with AccessReporter to a
 *   local SQS queue (fauxqs, started here).
 * - An ESM TypeScript project with `moduleResolution: NodeNext` type-checks against the declarations.
 * - A CommonJS TypeScript CDK app, as `cdk init app --language typescript` lays it out, type-checks
 *   and synthesizes the construct with cdk-nag's AwsSolutions and Serverless packs: any finding fails.
 * - `npx warmers --version` and `--help` answer.
 * Offline but for the package registry. Prints `N passed, N failed`; exits 1 when a check failed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../functions/local/localAws';
import { startLocalSqs } from '../support/fauxqs';
import { createProject, packedFiles, packProject } from '../support/packedPackage';

// The AWS SDK's once-a-process notice that its 2027 releases need Node 22: this script's clients and
// the consumer apps it runs are on Node 20 on purpose, and the notice would only bury the results.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};
const fixtures = new URL('fixtures/', import.meta.url);
const work = mkdtempSync(join(tmpdir(), 'cache-warmers-package-'));
const results: { name: string; error?: unknown }[] = [];

/** `npx tsx test/package/acceptance.ts cdk` runs only the checks whose name holds one of the words given. */
const only = process.argv.slice(2);

const check = async (name: string, body: () => unknown): Promise<void> => {
  if (only.length > 0 && !only.some((word) => name.includes(word))) return;
  try {
    await body();
    results.push({ name });
    console.log(`✓ ${name}`);
  } catch (error) {
    results.push({ name, error });
    console.log(`✗ ${name}\n${error instanceof Error ? error.message : String(error)}`);
  }
};

/** Runs a command in a consumer project; its output is returned, and shown when it fails. */
const run = (cwd: string, command: string, args: string[], env: Record<string, string> = {}): string => {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, ...env },
      stdio: 'pipe',
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
};

/** A consumer project from a fixture directory, with the tarball and `packages` installed. */
const projectFrom = (fixture: string, tarball: string, packages: string[], type?: 'module'): string => {
  const directory = join(work, fixture);
  createProject(directory, tarball, packages, type);
  cpSync(new URL(fixture, fixtures), directory, { recursive: true });
  return directory;
};

try {
  await check('npm pack lists no test, bench, CI or build file', () => {
    const stray = packedFiles().filter((file) => /^(test|bench|scripts|\.ci|infra|functions)\//.test(file));
    if (stray.length > 0) throw new Error(`packed: ${stray.join(', ')}`);
  });

  const tarball = packProject(work);

  await check('plain Node ESM: the engine warms a Map, AccessReporter reports reads to a queue', async () => {
    const sqs = await startLocalSqs();
    try {
      const queueUrl = await sqs.createQueue('access');
      const app = projectFrom('engine-app', tarball, ['@aws-sdk/client-sqs'], 'module');
      // Not execFileSync: fauxqs answers from this process, which must not block while the script runs.
      const { stdout: output } = await promisify(execFile)(process.execPath, ['warm-and-report.mjs'], {
        cwd: app,
        env: {
          ...process.env,
          QUEUE_URL: queueUrl,
          AWS_ENDPOINT_URL_SQS: sqs.endpoint,
          AWS_REGION: LOCAL_REGION,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        },
      });
      if (!output.includes('warmed 3 keys')) throw new Error(`unexpected output: ${output}`);
      const client = new SQSClient({
        endpoint: sqs.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      });
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const counts = Messages.map((message) => JSON.parse(message.Body ?? '{}').counts);
      if (JSON.stringify(counts) !== JSON.stringify([{ 'product:1': 3, 'product:2': 2 }])) {
        throw new Error(`the queue holds ${JSON.stringify(counts)}`);
      }
      client.destroy();
    } finally {
      await sqs.close();
    }
  });

  await check('npx warmers --version and --help', () => {
    const app = join(work, 'engine-app');
    const version = run(app, 'npx', ['--no-install', 'warmers', '--version']).trim();
    if (version !== `warmers ${packageJson.version}`) throw new Error(`--version printed ${version}`);
    if (!run(app, 'npx', ['--no-install', 'warmers', '--help']).startsWith('usage: warmers')) {
      throw new Error('--help printed no usage');
    }
  });

  await check('ESM TypeScript, moduleResolution NodeNext: the declarations type-check', () => {
    const app = projectFrom('esm-types', tarball, ['typescript@^5.9', '@types/node@^20'], 'module');
    run(app, 'npx', ['--no-install', 'tsc', '-p', '.']);
  });

  await check('CommonJS TypeScript CDK app: type-checks and synthesizes cdk-nag clean', () => {
    const app = projectFrom('cdk-app', tarball, [
      'aws-cdk-lib@^2.276.0',
      'constructs@^10',
      'cdk-nag@^3',
      'typescript@^5.9',
      'tsx@^4',
      '@types/node@^20',
    ]);
    run(app, 'npx', ['--no-install', 'tsc', '-p', '.']);
    // What `cdk synth` runs: the app, told where the cloud assembly goes.
    run(app, 'npx', ['--no-install', 'tsx', 'bin/app.ts'], { CDK_OUTDIR: 'cdk.out' });
    const report = JSON.parse(readFileSync(join(app, 'cdk.out', 'validation-report.json'), 'utf8'));
    if (report.pluginReports?.length) throw new Error(`cdk-nag: ${JSON.stringify(report.pluginReports)}`);
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}

const failed = results.filter(({ error }) => error !== undefined).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
