/**
 * Code under test that writes to process.stdout or process.stderr itself (Powertools Logger's JSON
 * lines, CDK's "Bundling asset …" notices) bypasses vitest's console capture and floods every run.
 * Routed through the console, vitest attributes each line to its test and, with
 * `silent: 'passed-only'`, shows it only when that test fails.
 */
const routeThroughConsole = (stream: NodeJS.WriteStream, log: (text: string) => void): void => {
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    log(text.endsWith('\n') ? text.slice(0, -1) : text);
    const done = rest.find((argument) => typeof argument === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof stream.write;
};

routeThroughConsole(process.stdout, (text) => console.log(text));
routeThroughConsole(process.stderr, (text) => console.error(text));
