import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { repoRoot } from '../../cli/stack/paths.js';

export interface CliProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (null when killed by a signal) once the process ended. */
  exited: Promise<number | null>;
  /** Everything it wrote so far, stdout and stderr interleaved as they arrived. */
  output(): string;
  /** Waits until the output matches `pattern`; rejects with the output when it exits or times out. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/**
 * Runs `node bin/sluice.js <args>` exactly as a person would type it, with pipes for stdout and
 * stderr (so no terminal: JSON logs, no colours). SIGKILLed when the test finishes if still running.
 */
export function spawnCli(args: string[], env: Record<string, string | undefined>): CliProcess {
  const root = repoRoot();
  const child = spawn(process.execPath, [join(root, 'bin', 'sluice.js'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const wake of waiters) wake();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let exitedCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitedCode = code;
      for (const wake of waiters) wake();
      resolve(code);
    }),
  );
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = text.match(pattern);
        if (match) {
          done();
          resolve(match);
        } else if (exitedCode !== undefined || child.signalCode !== null) {
          done();
          reject(new Error(`sluice ${args[0]} exited (${exitedCode}) before printing ${pattern}:\n${text}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`sluice ${args[0]} did not print ${pattern} within ${timeoutMs} ms:\n${text}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return { child, pid: child.pid!, exited, output: () => text, waitFor };
}

/**
 * The live processes whose environment holds `marker` (a `NAME=value` pair): the way to find every
 * process a test started, children and orphans included, whatever their parent. Linux only (/proc).
 */
export function processesWithEnv(marker: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let environ: string;
    let command: string;
    try {
      // A zombie (exited, not yet reaped) has an empty environ: it runs nothing.
      environ = readFileSync(`/proc/${name}/environ`, 'latin1');
      command = readFileSync(`/proc/${name}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
    } catch {
      continue; // Gone meanwhile, or another user's.
    }
    if (environ.split('\0').includes(marker)) found.push({ pid: Number(name), command });
  }
  return found;
}

/**
 * The Sluice processes among them: node processes. tsx starts an esbuild service as a child when
 * it has sources to compile; that helper exits when its parent's pipe closes and serves nothing.
 */
export function sluiceProcessesWithEnv(marker: string): number[] {
  return processesWithEnv(marker)
    .filter(({ command }) => !/\besbuild\b/.test(command.split(' ')[0] ?? ''))
    .map(({ pid }) => pid);
}
