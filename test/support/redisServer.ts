import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;

/** Who may connect: a password for the default user (`requirepass`), and ACL users with full access. */
export interface RedisServerAuth {
  requirePass?: string;
  users?: { name: string; password: string }[];
}

/** A private `redis-server` for one test file or benchmark. */
export interface LocalRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Stops the server gracefully and removes its directory. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /**
   * Starts the server again on the same port, with other credentials when given: empty, or with every
   * acknowledged write when it was started `durable`.
   */
  restart(auth?: RedisServerAuth): Promise<void>;
}

/** A private 3-node Redis Cluster (no replicas) covering all 16,384 slots. */
export interface LocalRedisCluster {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
  /**
   * Kills every node with SIGKILL, keeps them down for `downMs`, then starts them again on the same
   * ports from their cluster configuration files (empty) and waits until the cluster is ok again.
   */
  restart(downMs: number): Promise<void>;
}

const requireRedisServer = (): void => {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server is not installed: apt-get install redis-server (or run bash .ci/run, which installs it)',
    );
  }
};

/** A port nothing listens on now (never 6379). */
export const freePort = async (): Promise<number> => {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const address = server.address();
        const found = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    // A cluster node also listens on port + 10000, the cluster bus.
    if (port !== 6379 && port + 10_000 < 65_536) return port;
  }
};

const cli = (port: number, ...args: string[]) =>
  run('redis-cli', ['-h', HOST, '-p', String(port), ...args], { timeout: READY_TIMEOUT_MS });

const authArguments = ({ requirePass, users = [] }: RedisServerAuth): string[] => [
  ...(requirePass === undefined ? [] : ['--requirepass', requirePass]),
  ...users.flatMap(({ name, password }) => ['--user', name, 'on', `>${password}`, '~*', '&*', '+@all']),
];

const waitFor = async (what: string, ready: () => Promise<boolean>): Promise<void> => {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} not ready after ${READY_TIMEOUT_MS} ms`);
};

const spawnServer = (port: number, dir: string, extra: string[]): ChildProcess => {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--protected-mode',
      'no',
      ...extra,
    ],
    { stdio: 'ignore' },
  );
  child.on('error', () => {});
  return child;
};

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

const startNode = async (
  port: number,
  dir: string,
  extra: string[] = [],
  requirePass?: string,
): Promise<ChildProcess> => {
  const child = spawnServer(port, dir, extra);
  const login = requirePass === undefined ? [] : ['--no-auth-warning', '-a', requirePass];
  await waitFor(`redis-server on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited`);
    return (await cli(port, ...login, 'PING')).stdout.trim() === 'PONG';
  });
  return child;
};

/**
 * Starts a private `redis-server` on a free port of 127.0.0.1, with no persistence, and waits until
 * it answers PING; with `auth`, only those credentials are let in. `durable` keeps every acknowledged
 * write across a kill and restart (an fsynced append-only file), as a failover to a replica would.
 *
 * @example
 * const redis = await startRedisServer({ users: [{ name: 'warmer', password: 'token-1' }] });
 * const store = new RedisStore({ url: redis.url, auth: { kind: 'token', username: 'warmer', token: 'token-1' } });
 * await redis.stop();
 */
export const startRedisServer = async (
  auth: RedisServerAuth = {},
  { durable = false }: { durable?: boolean } = {},
): Promise<LocalRedis> => {
  requireRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-'));
  const durability = durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : [];
  let current = auth;
  let child = await startNode(port, dir, [...durability, ...authArguments(current)], current.requirePass);
  return {
    url: `redis://${HOST}:${port}`,
    port,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async restart(auth = current) {
      child.kill('SIGKILL');
      await exited(child);
      current = auth;
      child = await startNode(port, dir, [...durability, ...authArguments(current)], current.requirePass);
    },
  };
};

/**
 * Starts three `--cluster-enabled yes` nodes on free ports, joins them with
 * `redis-cli --cluster create` (no replicas), and waits until the cluster reports `cluster_state:ok`.
 */
export const startRedisCluster = async (): Promise<LocalRedisCluster> => {
  requireRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const nodes: { host: string; port: number }[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    rmSync(dir, { recursive: true, force: true });
  };
  const startClusterNode = (port: number) =>
    startNode(port, join(dir, String(port)), [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      '5000',
    ]);
  const clusterReady = async () => {
    for (const node of nodes) {
      await waitFor(`cluster node ${node.port}`, async () =>
        (await cli(node.port, 'CLUSTER', 'INFO')).stdout.includes('cluster_state:ok'),
      );
    }
  };
  try {
    for (let index = 0; index < 3; index++) {
      const port = await freePort();
      mkdirSync(join(dir, String(port)));
      children.push(await startClusterNode(port));
      nodes.push({ host: HOST, port });
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `${node.host}:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: READY_TIMEOUT_MS * 3 },
    );
    await clusterReady();
  } catch (error) {
    await stop();
    throw error;
  }
  const restart = async (downMs: number) => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await new Promise((resolve) => setTimeout(resolve, downMs));
    children.splice(
      0,
      children.length,
      ...(await Promise.all(nodes.map(({ port }) => startClusterNode(port)))),
    );
    await clusterReady();
  };
  return { nodes, stop, restart };
};
