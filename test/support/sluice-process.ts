import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { onTestFinished } from 'vitest';
import { repoRoot } from '../../cli/stack/paths.js';

export interface SluiceProcess<Ready> {
  child: ChildProcess;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  /** Its log lines (stdout and stderr): all of them, or the last `keepLogLines`. */
  logLines: string[];
  /** What `isReady` returned for the line that announced the process was up. */
  ready: Ready;
}

/**
 * Runs `sluice <command>` as its own process, as an operator would (through tsx, from the
 * checkout), at log level info, and waits for the JSON log line for which `isReady` returns a
 * value. SIGKILLed when the test finishes if still running.
 */
export async function spawnSluice<Ready>(
  command: string,
  env: Record<string, string | undefined>,
  isReady: (entry: Record<string, unknown>) => Ready | undefined,
  options: { keepLogLines?: number; startTimeoutMs?: number } = {},
): Promise<SluiceProcess<Ready>> {
  const keepLogLines = options.keepLogLines ?? Number.POSITIVE_INFINITY;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const root = repoRoot();
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(root, 'cli', 'sluice.ts'), command],
    {
      cwd: root,
      // Info whatever the suite's level: the start line carries the ports.
      env: { ...process.env, ...env, SLUICE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const logLines: string[] = [];
  const keep = (line: string) => {
    logLines.push(line);
    if (logLines.length > keepLogLines) logLines.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`sluice ${command} did not start:\n${logLines.join('\n')}`)),
      startTimeoutMs,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // Not a log line of ours.
      }
      const value = isReady(entry);
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
      }
    });
    void exited.then((code) =>
      reject(new Error(`sluice ${command} exited with ${code}:\n${logLines.join('\n')}`)),
    );
  });
  return { child, exited, logLines, ready };
}
