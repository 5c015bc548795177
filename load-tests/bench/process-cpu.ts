import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * utime + stime of a process and all its threads, in seconds, from /proc/PID/stat (Linux, where
 * USER_HZ is 100 ticks/s). NaN when the process is gone or not on this machine.
 */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 (1-based); the split drops the first two.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The processes a run's work passes through, by role: `{ gateway: 1234, broker: 987 }`. */
export type ProcessRoles = Record<string, number | undefined>;

export interface CpuMeter {
  /** CPU µs each process spent since the meter started, per unit of work (request, event…). */
  microsPer(units: number): Record<string, number>;
}

/**
 * Why a run reached the rate it did: CPU per unit of work, per process. On a machine whose cores
 * the broker, Redis, the generator and Sluice share, a ratio alone cannot say whether a target is
 * out of reach; these figures can (one Node process runs its JavaScript on one core).
 */
export function startCpuMeter(roles: ProcessRoles): CpuMeter {
  const started = new Map<string, { pid: number; seconds: number }>();
  for (const [role, pid] of Object.entries(roles)) {
    if (pid !== undefined) started.set(role, { pid, seconds: cpuSeconds(pid) });
  }
  return {
    microsPer(units) {
      const micros: Record<string, number> = {};
      for (const [role, { pid, seconds }] of started) {
        const spent = cpuSeconds(pid) - seconds;
        if (Number.isFinite(spent) && units > 0) micros[role] = Math.round((spent * 1e6 * 10) / units) / 10;
      }
      return micros;
    },
  };
}

/** The median of each role's figure over several runs (roles missing from a run are skipped). */
export function medianMicros(runs: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const roles = new Set(runs.flatMap((run) => Object.keys(run)));
  const medians: Record<string, number> = {};
  for (const role of roles) {
    const values = runs
      .map((run) => run[role])
      .filter((value): value is number => value !== undefined)
      .sort((a, b) => a - b);
    const middle = Math.floor(values.length / 2);
    medians[role] = values.length % 2 === 1 ? values[middle]! : (values[middle - 1]! + values[middle]!) / 2;
  }
  return medians;
}

/** `gateway 61.2, broker 8.1, redis 0, wrk 10.3` */
export function describeMicros(micros: Record<string, number>): string {
  return Object.entries(micros)
    .map(([role, value]) => `${role} ${value}`)
    .join(', ');
}

export interface MeteredExit {
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  /** CPU seconds the process used, as last sampled before it exited (/proc forgets it then). */
  cpuSeconds: number;
}

/** Runs a program to its exit, keeping its output and sampling its CPU every `sampleEveryMs`. */
export async function runMetered(
  command: string,
  args: string[],
  sampleEveryMs: number,
): Promise<MeteredExit> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  let lastCpuSeconds = 0;
  const sampler = setInterval(() => {
    const seconds = cpuSeconds(child.pid!);
    if (Number.isFinite(seconds)) lastCpuSeconds = seconds; // else it has exited
  }, sampleEveryMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(sampler);
  return { code, output, cpuSeconds: lastCpuSeconds };
}
