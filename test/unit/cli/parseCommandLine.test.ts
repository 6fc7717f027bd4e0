import { describe, expect, it } from 'vitest';
import { DEFAULT_WAIT_TIMEOUT_SECONDS } from '../../../functions/local/cli/constants';
import { UsageError } from '../../../functions/local/cli/errors';
import { parseCommandLine, renderUsage } from '../../../functions/local/cli/parseCommandLine';

const parse = (line: string) => parseCommandLine(line.split(' ').filter((word) => word !== ''));
const usageError = (line: string) => {
  try {
    parse(line);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`"${line}" parsed without an error`);
};

describe('parseCommandLine', () => {
  it('parses warm with its defaults', () => {
    expect(parse('warm')).toEqual({
      command: {
        name: 'warm',
        dryRun: false,
        force: false,
        wait: false,
        timeoutSeconds: DEFAULT_WAIT_TIMEOUT_SECONDS,
      },
      options: { json: false },
    });
  });

  it('parses warm with keys, a limit, --wait, a timeout and the global flags anywhere', () => {
    expect(
      parse(
        '--json warm --keys product:1,,product:2, --limit 5 --force --wait --timeout 30 --stack Prod --region eu-west-1',
      ),
    ).toEqual({
      command: {
        name: 'warm',
        keys: ['product:1', 'product:2'],
        limit: 5,
        dryRun: false,
        force: true,
        wait: true,
        timeoutSeconds: 30,
      },
      options: { json: true, stack: 'Prod', region: 'eu-west-1' },
    });
  });

  it('parses warm --file, --provider adaptive and --dry-run', () => {
    expect(parse('warm --file keys.txt').command).toMatchObject({ keyFile: 'keys.txt' });
    expect(parse('warm --provider adaptive --limit 100 --dry-run').command).toMatchObject({
      provider: 'adaptive',
      limit: 100,
      dryRun: true,
    });
  });

  it('parses the control commands', () => {
    expect(parse('status run-1').command).toEqual({ name: 'status', runId: 'run-1' });
    expect(parse('cancel run-1').command).toEqual({ name: 'cancel', runId: 'run-1' });
    expect(parse('runs --limit 3').command).toEqual({ name: 'runs', limit: 3 });
    expect(parse('hot-keys --limit 50 --threshold 0').command).toEqual({
      name: 'hot-keys',
      limit: 50,
      threshold: 0,
    });
    expect(parse('dlq').command).toEqual({ name: 'dlq', redrive: false });
    expect(parse('dlq --redrive --limit 20').command).toEqual({ name: 'dlq', redrive: true, limit: 20 });
    expect(parse('local').command).toEqual({ name: 'local', quiet: false });
    expect(parse('local --quiet').command).toEqual({ name: 'local', quiet: true });
  });

  it('answers --version anywhere', () => {
    expect(parse('--version').command).toEqual({ name: 'version' });
    expect(parse('--version --json')).toEqual({ command: { name: 'version' }, options: { json: true } });
  });

  it('answers --help, -h and help with the right topic', () => {
    expect(parse('--help').command).toEqual({ name: 'help', topic: undefined });
    expect(parse('help warm').command).toEqual({ name: 'help', topic: 'warm' });
    expect(parse('dlq -h').command).toEqual({ name: 'help', topic: 'dlq' });
  });

  it.each([
    ['', 'which command? one of warm, status, cancel, runs, hot-keys, dlq, local'],
    ['wram', 'unknown command "wram" (did you mean warm?): the commands are warm, status'],
    ['stauts run-1', 'unknown command "stauts" (did you mean status?)'],
    ['hotkeys', 'unknown command "hotkeys" (did you mean hot-keys?)'],
    ['explode', 'unknown command "explode": the commands are'],
    ['warm --kyes a', 'unknown flag --kyes (did you mean --keys?): run `warmers warm --help` for the flags'],
    ['warm --wiat', 'unknown flag --wiat (did you mean --wait?)'],
    ['runs --limt 3', 'unknown flag --limt (did you mean --limit?): run `warmers runs --help`'],
    ['runs --everything', 'unknown flag --everything: run `warmers runs --help` for the flags'],
    ['local --region eu-west-1', '--region is not a flag of `warmers local`'],
    ['warm --keys', '--keys needs a value'],
    ['status', '`warmers status` needs <runId>'],
    ['status a b', 'unexpected argument "b" for `warmers status <runId> [--json]'],
    [
      'status run-1 --wait',
      '--wait is not a flag of `warmers status`: run `warmers status --help` for its flags',
    ],
    ['runs --limit 0', '--limit must be a whole number ≥ 1, got "0"'],
    ['runs --limit ten', '--limit must be a whole number ≥ 1, got "ten"'],
    [
      'hot-keys --threshold -1',
      '--threshold needs a value (write --threshold=VALUE for one that starts with "-")',
    ],
    ['hot-keys --threshold=-1', '--threshold must be a whole number ≥ 0, got "-1"'],
    ['warm --keys ,', '--keys needs at least one key'],
    [
      'warm --keys a --file k.txt',
      '--keys and --file each choose the keys: give one of --keys, --file or --provider',
    ],
    ['warm --provider hot', '--provider must be configured or adaptive, got "hot"'],
    ['warm --dry-run --wait', '--dry-run starts no run, so there is nothing to --wait for'],
    ['warm --timeout 5', '--timeout limits --wait: add --wait'],
    ['warm --wait --timeout 0', '--timeout must be a number of seconds > 0, got "0"'],
    ['runs --region eu-west-1', '--region applies to a deployed stack: add --stack NAME'],
    ['local --stack Prod', '`warmers local` runs on this machine: drop --stack'],
  ])('rejects "%s"', (line, message) => {
    expect(usageError(line)).toContain(message);
  });
});

describe('renderUsage', () => {
  it('lists every command, the global flags and --version', () => {
    const overview = renderUsage();
    for (const command of ['warm', 'status', 'cancel', 'runs', 'hot-keys', 'dlq', 'local'])
      expect(overview).toContain(`  ${command} `);
    expect(overview).toMatch(/^ {2}--version +print the version of warmers$/m);
  });

  it('lists a command its own flags in its own words, then the global flags it takes', () => {
    const warm = renderUsage('warm');
    expect(warm).toContain('usage: warmers warm [--keys a,b,c] [--file F]');
    for (const flag of ['--keys a,b,c', '--wait', '--timeout S', '--json', '--stack NAME'])
      expect(warm).toContain(flag);
    expect(warm).toMatch(/--limit N +warm at most N of the keys$/m);
    expect(renderUsage('runs')).toMatch(/--limit N +show at most N runs \(default 10\)$/m);
    expect(renderUsage('hot-keys')).toMatch(/--limit N +show at most N keys \(default 20\)$/m);
    expect(renderUsage('dlq')).toMatch(/--limit N +read at most N messages \(default 10\)$/m);
    expect(renderUsage('status')).toMatch(
      /<runId> +a run id, or a unique prefix of one \(at least 8 characters\)$/m,
    );
  });

  it('lists for local only the flags local takes', () => {
    const local = renderUsage('local');
    expect(local).toContain('usage: warmers local [--quiet] [--json]\n');
    expect(local).toMatch(/--quiet, -q +print no line per invocation$/m);
    expect(local).not.toContain('--stack');
    expect(local).not.toContain('--region');
  });

  it('lists no flag a command would reject', () => {
    /** Each flag as a command line that uses it alone, with a value where it needs one. */
    const withFlag: Record<string, string> = {
      '--keys': '--keys a',
      '--file': '--file keys.txt',
      '--provider': '--provider adaptive',
      '--limit': '--limit 1',
      '--threshold': '--threshold 1',
      '--timeout': '--wait --timeout 1',
      '--stack': '--stack Prod',
      '--region': '--stack Prod --region eu-west-1',
    };
    for (const command of ['warm', 'status', 'cancel', 'runs', 'hot-keys', 'dlq', 'local'] as const) {
      const runId = command === 'status' || command === 'cancel' ? ' run-1' : '';
      for (const [, flag] of renderUsage(command).matchAll(/^ {2}(--[a-z-]+)/gm))
        expect(
          () => parse(`${command}${runId} ${withFlag[flag as string] ?? flag}`),
          `${command} ${flag}`,
        ).not.toThrow();
    }
  });
});
