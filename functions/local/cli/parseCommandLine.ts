import { type ParseArgsConfig, parseArgs } from 'node:util';
import { closestMatch } from './closestMatch';
import { DEFAULT_WAIT_TIMEOUT_SECONDS } from './constants';
import { UsageError } from './errors';

/** Every flag of every command; each command accepts its own and the global ones that apply to it. */
const FLAGS = {
  json: { type: 'boolean' },
  stack: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
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
  quiet: { type: 'boolean', short: 'q' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

type Flag = keyof typeof FLAGS;

/** How a flag is written in help, its value named. */
const FLAG_SYNOPSIS: Record<Flag, string> = {
  json: '--json',
  stack: '--stack NAME',
  region: '--region R',
  help: '--help, -h',
  version: '--version',
  keys: '--keys a,b,c',
  file: '--file F',
  provider: '--provider P',
  limit: '--limit N',
  threshold: '--threshold N',
  'dry-run': '--dry-run',
  force: '--force',
  wait: '--wait',
  timeout: '--timeout S',
  redrive: '--redrive',
  quiet: '--quiet, -q',
};

/** Flags every command takes. */
const COMMON_FLAGS = {
  json: 'print one JSON document on stdout instead of tables',
  help: 'show this help',
} as const satisfies Partial<Record<Flag, string>>;

/** Flags of the commands that talk to the functions: where they are. */
const TARGET_FLAGS = {
  stack: 'target a deployed stack (functions found from its outputs)',
  region: "the stack's region (default: AWS_REGION or the AWS profile's)",
} as const satisfies Partial<Record<Flag, string>>;

const RUN_ID_HELP = 'a run id, or a unique prefix of one (at least 8 characters)';

interface CommandSpec {
  /** Positional arguments, each required, with what they are. */
  args: Readonly<Record<string, string>>;
  /** The command's own flags, each in the command's own words. */
  flags: Readonly<Partial<Record<Flag, string>>>;
  /** Whether it takes --stack and --region (every command but `local`). */
  targeted: boolean;
  summary: string;
}

const COMMANDS = {
  warm: {
    args: {},
    flags: {
      keys: 'warm just these keys',
      file: 'warm the keys in F: one per line (# comments), or a JSON array',
      provider: 'configured (default) or adaptive (the hot keys)',
      limit: 'warm at most N of the keys',
      'dry-run': 'plan only: keys, messages, requests and cost; nothing is sent',
      force: 'start even while another run is in flight',
      wait: 'follow the run with a progress bar until it ends',
      timeout: `give up waiting after S seconds (default ${DEFAULT_WAIT_TIMEOUT_SECONDS})`,
    },
    targeted: true,
    summary: 'start a warm run: the configured keys, given keys, or the hot keys',
  },
  status: {
    args: { runId: RUN_ID_HELP },
    flags: {},
    targeted: true,
    summary: "a run's progress: planned, warmed, failed, skipped (and why), rate, ETA",
  },
  cancel: {
    args: { runId: RUN_ID_HELP },
    flags: {},
    targeted: true,
    summary: 'cancel a running run (keys in flight finish)',
  },
  runs: {
    args: {},
    flags: { limit: 'show at most N runs (default 10)' },
    targeted: true,
    summary: 'the latest runs, newest first',
  },
  'hot-keys': {
    args: {},
    flags: {
      limit: 'show at most N keys (default 20)',
      threshold: 'only keys read at least N times (default 1)',
    },
    targeted: true,
    summary: 'the most read keys the tracker learned',
  },
  dlq: {
    args: {},
    flags: {
      redrive: 'move the dead-lettered keys back to the warm queue as a new run',
      limit: 'read at most N messages (default 10)',
    },
    targeted: true,
    summary: 'dead-lettered keys and why, or redrive them',
  },
  local: {
    args: {},
    flags: { quiet: 'print no line per invocation' },
    targeted: false,
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
  | { name: 'local'; quiet: boolean }
  | { name: 'help'; topic?: CommandName }
  | { name: 'version' };

export interface CommandLine {
  command: Command;
  options: GlobalOptions;
}

/** The flags a command accepts, with its words for each: its own, then the global ones. */
const flagsOf = (name: CommandName): [Flag, string][] => {
  const spec: CommandSpec = COMMANDS[name];
  return Object.entries({
    ...spec.flags,
    ...COMMON_FLAGS,
    ...(spec.targeted ? TARGET_FLAGS : {}),
  }) as [Flag, string][];
};

const usageLine = (name: CommandName): string => {
  const spec: CommandSpec = COMMANDS[name];
  return [
    name,
    ...Object.keys(spec.args).map((arg) => `<${arg}>`),
    ...Object.keys(spec.flags).map((flag) => `[${FLAG_SYNOPSIS[flag as Flag].split(', ')[0]}]`),
    '[--json]',
    ...(spec.targeted ? ['[--stack NAME [--region R]]'] : []),
  ].join(' ');
};

/** Two columns: what to type, and what it does. */
const helpLines = (entries: readonly (readonly [string, string])[]): string[] => {
  const width = Math.max(...entries.map(([left]) => left.length));
  return entries.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
};

/** `warmers --help` (every command) or `warmers <command> --help` (its arguments and flags). */
export const renderUsage = (topic?: CommandName): string => {
  if (topic) {
    const spec: CommandSpec = COMMANDS[topic];
    return [
      `usage: warmers ${usageLine(topic)}`,
      '',
      spec.summary,
      '',
      ...helpLines([
        ...Object.entries(spec.args).map(([arg, help]) => [`<${arg}>`, help] as const),
        ...flagsOf(topic).map(([flag, help]) => [FLAG_SYNOPSIS[flag], help] as const),
      ]),
    ].join('\n');
  }
  return [
    'usage: warmers <command> [flags] [--json] [--stack NAME [--region R]]',
    '',
    'commands:',
    ...helpLines(COMMAND_NAMES.map((name) => [name, COMMANDS[name].summary])),
    '',
    'global flags:',
    ...helpLines([
      ...Object.entries({ ...COMMON_FLAGS, ...TARGET_FLAGS }).map(
        ([flag, help]) => [FLAG_SYNOPSIS[flag as Flag], help] as const,
      ),
      [FLAG_SYNOPSIS.version, 'print the version of warmers'],
    ]),
    '',
    `Without --stack, commands go to the local runtime that \`warmers local\` keeps up.`,
    'Run `warmers <command> --help` for its flags.',
  ].join('\n');
};

/**
 * Every command with its arguments and its own flags (not the global ones), as the README documents
 * them.
 */
export const describeCommands = (): { name: CommandName; args: string[]; flags: string[] }[] =>
  COMMAND_NAMES.map((name) => {
    const spec: CommandSpec = COMMANDS[name];
    return { name, args: Object.keys(spec.args), flags: Object.keys(spec.flags).map((flag) => `--${flag}`) };
  });

/** ` (did you mean …?)` when a known word is close to the mistyped one. */
const didYouMean = (word: string, candidates: readonly string[]): string => {
  const match = closestMatch(word, candidates);
  return match === undefined ? '' : ` (did you mean ${match}?)`;
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
  const known = command !== undefined && isCommandName(command);
  const helpHint = known ? `run \`warmers ${command} --help\`` : 'run `warmers --help`';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const candidates = (known ? flagsOf(command).map(([name]) => name) : Object.keys(FLAGS)).map(
      (name) => `--${name}`,
    );
    return new UsageError(
      `unknown flag ${flag ?? ''}${didYouMean(flag ?? '', candidates)}: ${helpHint} for the flags`,
      { cause: error },
    );
  }
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

  if (values.version) return { command: { name: 'version' }, options };
  if (name === undefined || name === 'help') {
    const topic = args[0];
    if (name === undefined && !values.help)
      throw new UsageError(`which command? one of ${COMMAND_NAMES.join(', ')} (run \`warmers --help\`)`);
    return { command: { name: 'help', topic: topic && isCommandName(topic) ? topic : undefined }, options };
  }
  if (!isCommandName(name))
    throw new UsageError(
      `unknown command "${name}"${didYouMean(name, COMMAND_NAMES)}: the commands are ${COMMAND_NAMES.join(', ')}`,
    );
  if (values.help) return { command: { name: 'help', topic: name }, options };
  if (name === 'local' && options.stack !== undefined)
    throw new UsageError('`warmers local` runs on this machine: drop --stack');

  const spec: CommandSpec = COMMANDS[name];
  const accepted = flagsOf(name).map(([flag]) => flag);
  for (const token of tokens) {
    if (token.kind !== 'option' || accepted.includes(token.name as Flag)) continue;
    throw new UsageError(
      `${token.rawName} is not a flag of \`warmers ${name}\`: run \`warmers ${name} --help\` for its flags`,
    );
  }
  const argNames = Object.keys(spec.args);
  if (args.length < argNames.length)
    throw new UsageError(
      `\`warmers ${name}\` needs <${argNames[args.length]}>: e.g. \`warmers ${name} 3f1c9a2e\` (\`warmers runs\` lists run ids)`,
    );
  if (args.length > argNames.length)
    throw new UsageError(`unexpected argument "${args[argNames.length]}" for \`warmers ${usageLine(name)}\``);
  if (options.stack?.trim() === '') throw new UsageError('--stack needs the name of a deployed stack');
  if (options.region !== undefined && options.stack === undefined)
    throw new UsageError('--region applies to a deployed stack: add --stack NAME');

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
      return { command: { name, quiet: values.quiet ?? false }, options };
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
