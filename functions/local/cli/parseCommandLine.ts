import { type ParseArgsConfig, parseArgs } from 'node:util';
import { DEFAULT_WAIT_TIMEOUT_SECONDS } from './constants';
import { UsageError } from './errors';

/** Every flag of every command; each command accepts the global ones and those it lists. */
const FLAGS = {
  json: { type: 'boolean' },
  stack: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  keys: { type: 'string' },
  file: { type: 'string' },
  provider: { type: 'string' },
  limit: { type: 'string' },
  threshold: { type: 'string' },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  redrive: { type: 'boolean' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

type Flag = keyof typeof FLAGS;

const GLOBAL_FLAGS = ['json', 'stack', 'region', 'help'] as const satisfies readonly Flag[];

/** One line per flag, for `--help` and for errors that list a command's flags. */
const FLAG_HELP: Record<Flag, string> = {
  json: '--json             print one JSON document on stdout instead of tables',
  stack: '--stack NAME       target a deployed stack (functions found from its outputs)',
  region: "--region R         the stack's region (default: AWS_REGION or the AWS profile's)",
  help: '--help, -h         show this help',
  keys: '--keys a,b,c       warm just these keys',
  file: '--file F           warm the keys in F: one per line (# comments), or a JSON array',
  provider: '--provider P       configured (default) or adaptive (the hot keys)',
  limit: '--limit N          at most N keys / runs / messages',
  threshold: '--threshold N      only keys read at least N times (default 1)',
  'dry-run': '--dry-run          plan only: keys, messages, requests and cost; nothing is sent',
  force: '--force            start even while another run is in flight',
  wait: '--wait             follow the run with a progress bar until it ends',
  timeout: `--timeout S        give up waiting after S seconds (default ${DEFAULT_WAIT_TIMEOUT_SECONDS})`,
  redrive: '--redrive          move the dead-lettered keys back to the warm queue as a new run',
};

interface CommandSpec {
  /** Positional arguments, by name; each is required. */
  args: readonly string[];
  flags: readonly Flag[];
  summary: string;
}

const COMMANDS = {
  warm: {
    args: [],
    flags: ['keys', 'file', 'provider', 'limit', 'dry-run', 'force', 'wait', 'timeout'],
    summary: 'start a warm run: the configured keys, given keys, or the hot keys',
  },
  status: { args: ['runId'], flags: [], summary: "a run's progress: planned, warmed, failed, rate, ETA" },
  cancel: { args: ['runId'], flags: [], summary: 'cancel a running run (keys in flight finish)' },
  runs: { args: [], flags: ['limit'], summary: 'the latest runs, newest first (default 10)' },
  'hot-keys': {
    args: [],
    flags: ['limit', 'threshold'],
    summary: 'the most read keys the tracker learned (default 20)',
  },
  dlq: {
    args: [],
    flags: ['redrive', 'limit'],
    summary: 'dead-lettered keys and why (default 10 messages), or redrive them',
  },
  local: {
    args: [],
    flags: [],
    summary: 'run the whole pipeline on this machine until Ctrl-C; other commands use it',
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

const isCommandName = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

/** Where commands are sent: the local runtime, or a deployed stack. */
export interface GlobalOptions {
  json: boolean;
  stack?: string;
  region?: string;
}

export interface WarmCommand {
  name: 'warm';
  keys?: string[];
  keyFile?: string;
  provider?: 'configured' | 'adaptive';
  limit?: number;
  dryRun: boolean;
  force: boolean;
  wait: boolean;
  timeoutSeconds: number;
}

export type Command =
  | WarmCommand
  | { name: 'status' | 'cancel'; runId: string }
  | { name: 'runs'; limit?: number }
  | { name: 'hot-keys'; limit?: number; threshold?: number }
  | { name: 'dlq'; redrive: boolean; limit?: number }
  | { name: 'local' }
  | { name: 'help'; topic?: CommandName };

export interface CommandLine {
  command: Command;
  options: GlobalOptions;
}

const usageLine = (name: CommandName): string => {
  const spec: CommandSpec = COMMANDS[name];
  return [name, ...spec.args.map((arg) => `<${arg}>`), ...spec.flags.map((flag) => `[--${flag}]`)].join(' ');
};

/** `warmers --help` (every command) or `warmers <command> --help` (its flags). */
export const renderUsage = (topic?: CommandName): string => {
  const flagLines = (flags: readonly Flag[]) => flags.map((flag) => `  ${FLAG_HELP[flag]}`);
  if (topic) {
    const spec: CommandSpec = COMMANDS[topic];
    return [
      `usage: warmers ${usageLine(topic)} [--json] [--stack NAME [--region R]]`,
      '',
      spec.summary,
      '',
      ...flagLines([...spec.flags, ...GLOBAL_FLAGS]),
    ].join('\n');
  }
  const width = Math.max(...COMMAND_NAMES.map((name) => name.length));
  return [
    'usage: warmers <command> [flags] [--json] [--stack NAME [--region R]]',
    '',
    'commands:',
    ...COMMAND_NAMES.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name].summary}`),
    '',
    'global flags:',
    ...flagLines(GLOBAL_FLAGS),
    '',
    `Without --stack, commands go to the local runtime that \`warmers local\` keeps up.`,
    'Run `warmers <command> --help` for its flags.',
  ].join('\n');
};

const wholeNumber = (flag: Flag, text: string | undefined, min: number): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min)
    throw new UsageError(`--${flag} must be a whole number ≥ ${min}, got "${text}"`);
  return value;
};

const positiveSeconds = (flag: Flag, text: string): number => {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0)
    throw new UsageError(`--${flag} must be a number of seconds > 0, got "${text}"`);
  return value;
};

const splitKeys = (text: string): string[] => {
  const keys = text
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  if (keys.length === 0)
    throw new UsageError(`--keys needs at least one key, e.g. --keys product:1,product:2`);
  return keys;
};

/** parseArgs' own messages suggest `--` tricks; ours name the flag and where to find the right ones. */
const describeParseError = (error: unknown, command: string | undefined): UsageError => {
  const code = (error as { code?: string }).code;
  const flag = error instanceof Error ? /'(-[^'\s]*)/.exec(error.message)?.[1] : undefined;
  const helpHint =
    command && isCommandName(command) ? `run \`warmers ${command} --help\`` : 'run `warmers --help`';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return new UsageError(`unknown flag ${flag ?? ''}: ${helpHint} for the flags`, { cause: error });
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return new UsageError(
      `${flag ?? 'a flag'} needs a value (write ${flag ?? '--flag'}=VALUE for one that starts with "-"): ${helpHint}`,
      { cause: error },
    );
  return new UsageError(`${error instanceof Error ? error.message : String(error)}: ${helpHint}`, {
    cause: error,
  });
};

const parse = (argv: readonly string[]) => {
  try {
    return parseArgs({ args: [...argv], options: FLAGS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    const { positionals } = parseArgs({
      args: [...argv],
      options: FLAGS,
      allowPositionals: true,
      strict: false,
    });
    throw describeParseError(error, positionals[0]);
  }
};

/**
 * Parses `warmers` arguments (without `node` and the script) into a command and the target options.
 * @throws UsageError naming the unknown command or flag, the missing argument or the malformed value
 *
 * @example
 * parseCommandLine(['warm', '--keys', 'a,b', '--wait']); // { command: { name: 'warm', keys: ['a', 'b'], wait: true, … } }
 */
export const parseCommandLine = (argv: readonly string[]): CommandLine => {
  const { values, positionals, tokens } = parse(argv);
  const options: GlobalOptions = { json: values.json ?? false, stack: values.stack, region: values.region };
  const [name, ...args] = positionals;

  if (name === undefined || name === 'help') {
    const topic = args[0];
    if (name === undefined && !values.help)
      throw new UsageError(`which command? one of ${COMMAND_NAMES.join(', ')} (run \`warmers --help\`)`);
    return { command: { name: 'help', topic: topic && isCommandName(topic) ? topic : undefined }, options };
  }
  if (!isCommandName(name))
    throw new UsageError(`unknown command "${name}": the commands are ${COMMAND_NAMES.join(', ')}`);
  if (values.help) return { command: { name: 'help', topic: name }, options };

  const spec: CommandSpec = COMMANDS[name];
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const flag = token.name as Flag;
    if (!(GLOBAL_FLAGS as readonly Flag[]).includes(flag) && !spec.flags.includes(flag))
      throw new UsageError(
        `${token.rawName} is not a flag of \`warmers ${name}\`: run \`warmers ${name} --help\` for its flags`,
      );
  }
  if (args.length < spec.args.length)
    throw new UsageError(
      `\`warmers ${name}\` needs <${spec.args[args.length]}>: e.g. \`warmers ${name} 3f1c…\` (\`warmers runs\` lists run ids)`,
    );
  if (args.length > spec.args.length)
    throw new UsageError(
      `unexpected argument "${args[spec.args.length]}" for \`warmers ${usageLine(name)}\``,
    );
  if (options.stack?.trim() === '') throw new UsageError('--stack needs the name of a deployed stack');
  if (options.region !== undefined && options.stack === undefined)
    throw new UsageError('--region applies to a deployed stack: add --stack NAME');
  if (name === 'local' && options.stack !== undefined)
    throw new UsageError('`warmers local` runs on this machine: drop --stack');

  switch (name) {
    case 'warm':
      return { command: parseWarm(values), options };
    case 'status':
    case 'cancel':
      return { command: { name, runId: args[0] as string }, options };
    case 'runs':
      return { command: { name, limit: wholeNumber('limit', values.limit, 1) }, options };
    case 'hot-keys':
      return {
        command: {
          name,
          limit: wholeNumber('limit', values.limit, 1),
          threshold: wholeNumber('threshold', values.threshold, 0),
        },
        options,
      };
    case 'dlq':
      return {
        command: { name, redrive: values.redrive ?? false, limit: wholeNumber('limit', values.limit, 1) },
        options,
      };
    case 'local':
      return { command: { name }, options };
  }
};

const parseWarm = (values: ReturnType<typeof parse>['values']): WarmCommand => {
  const sources = (['keys', 'file', 'provider'] as const).filter((flag) => values[flag] !== undefined);
  if (sources.length > 1)
    throw new UsageError(
      `--${sources.join(' and --')} each choose the keys: give one of --keys, --file or --provider`,
    );
  const { provider } = values;
  if (provider !== undefined && provider !== 'configured' && provider !== 'adaptive')
    throw new UsageError(`--provider must be configured or adaptive, got "${provider}"`);
  const dryRun = values['dry-run'] ?? false;
  const wait = values.wait ?? false;
  if (wait && dryRun) throw new UsageError('--dry-run starts no run, so there is nothing to --wait for');
  if (values.timeout !== undefined && !wait) throw new UsageError('--timeout limits --wait: add --wait');
  return {
    name: 'warm',
    keys: values.keys === undefined ? undefined : splitKeys(values.keys),
    keyFile: values.file,
    provider,
    limit: wholeNumber('limit', values.limit, 1),
    dryRun,
    force: values.force ?? false,
    wait,
    timeoutSeconds:
      values.timeout === undefined
        ? DEFAULT_WAIT_TIMEOUT_SECONDS
        : positiveSeconds('timeout', values.timeout),
  };
};
