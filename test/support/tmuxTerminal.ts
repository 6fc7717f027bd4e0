import { execFileSync, spawnSync } from 'node:child_process';
import { sleep } from '../../functions/core';

/** Fails with what to do when tmux is not installed, instead of a bare ENOENT. */
export const requireTmux = (): void => {
  const probe = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    throw new Error(
      'tmux is not installed, and the CLI end-to-end test drives a real terminal through it: ' +
        'install it with `apt-get install tmux` (.ci/run does so when it is missing)',
    );
};

export interface TmuxTerminalOptions {
  width: number;
  height: number;
  cwd: string;
  /** Variables of the shells in the terminal, beside the test's own environment. */
  env: Record<string, string>;
}

/**
 * A real terminal: a detached tmux session on a private server (so a user's sessions are never
 * touched), one window per shell, read back with capture-pane as a person sees it.
 */
export class TmuxTerminal {
  readonly #socket: string;
  readonly #options: TmuxTerminalOptions;
  /** Commands `run` so far. */
  #commands = 0;

  private constructor(socket: string, options: TmuxTerminalOptions) {
    this.#socket = socket;
    this.#options = options;
  }

  /** Starts the session with one window, `first`. */
  public static start(first: string, options: TmuxTerminalOptions): TmuxTerminal {
    requireTmux();
    const terminal = new TmuxTerminal(`warmers-e2e-${process.pid}`, options);
    terminal.#tmux(
      'new-session',
      '-d',
      '-s',
      'e2e',
      '-n',
      first,
      '-x',
      String(options.width),
      '-y',
      String(options.height),
      ...terminal.#shell(),
    );
    return terminal;
  }

  /** Opens another window (a second terminal tab) running a fresh shell. */
  public openWindow(name: string): void {
    this.#tmux('new-window', '-d', '-t', 'e2e', '-n', name, ...this.#shell());
  }

  /** Types `line` into the window's shell and presses Enter. */
  public type(window: string, line: string): void {
    this.#tmux('send-keys', '-t', `e2e:${window}`, '-l', line);
    this.#tmux('send-keys', '-t', `e2e:${window}`, 'Enter');
  }

  /** Presses Ctrl-C in the window. */
  public interrupt(window: string): void {
    this.#tmux('send-keys', '-t', `e2e:${window}`, 'C-c');
  }

  /**
   * The window's screen, wrapped lines joined, trailing blanks dropped; with `scrollback`, every line
   * the window printed, also those scrolled off the top.
   */
  public screen(window: string, { scrollback = false }: { scrollback?: boolean } = {}): string {
    return this.#tmux('capture-pane', '-p', '-J', ...(scrollback ? ['-S', '-'] : []), '-t', `e2e:${window}`)
      .split('\n')
      .map((line) => line.trimEnd())
      .join('\n')
      .trimEnd();
  }

  /** Waits until the window's screen matches `pattern`; fails with the screen after `timeoutMs`. */
  public async waitFor(window: string, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.screen(window));
      if (match) return match;
      if (Date.now() > deadline)
        throw new Error(
          `window ${window} did not show ${pattern} within ${timeoutMs} ms; it shows:\n${this.screen(window)}`,
        );
      await sleep(200);
    }
  }

  /**
   * Clears the window, runs `command` in its shell, and waits until it exits.
   * @returns the screen with the command's output, and its exit code
   */
  public async run(
    window: string,
    command: string,
    timeoutMs: number,
  ): Promise<{ screen: string; exitCode: number }> {
    // Numbered: the last command's exit line stays on the screen until `clear` runs, and is not this one's.
    const marker = `<<exit ${++this.#commands}`;
    this.type(window, `clear; ${command}; echo "${marker} $?>>"`);
    const [, code] = await this.waitFor(window, new RegExp(`${marker} (\\d+)>>`), timeoutMs);
    return { screen: this.screen(window), exitCode: Number(code) };
  }

  public kill(): void {
    spawnSync('tmux', ['-L', this.#socket, 'kill-server']);
  }

  /** A bash without rc files, so the prompt and aliases are the same on every machine. */
  #shell(): string[] {
    const variables = Object.entries(this.#options.env).flatMap(([name, value]) => [
      '-e',
      `${name}=${value}`,
    ]);
    return ['-c', this.#options.cwd, ...variables, 'bash --noprofile --norc'];
  }

  #tmux(...args: string[]): string {
    // A new shell takes its PATH from the tmux client's environment, whatever `-e` says.
    return execFileSync('tmux', ['-L', this.#socket, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...this.#options.env },
    });
  }
}
