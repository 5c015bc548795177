import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../cli/stack/paths.js';
import { createApiKey } from '../../gateway/auth/api-key-generator.js';

export interface BenchProcess {
  url: string;
  adminUrl: string | undefined;
  pid: number;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

/**
 * With SLUICE_BENCH_PROFILE_DIR set, every process the benchmarks start writes a V8 CPU profile
 * there when it exits (open it in Chrome DevTools): where the time of a run went, per process.
 * Node refuses --cpu-prof in NODE_OPTIONS, hence this switch.
 */
function profilerArgs(): string[] {
  const dir = process.env.SLUICE_BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/**
 * Starts a TypeScript entry point as its own process (through tsx, as `sluice` does from a
 * checkout) and waits for the JSON line that announces its port.
 */
async function startProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  isReadyLine: (entry: Record<string, unknown>) => { port: number; adminPort?: number } | undefined,
  root = repoRoot(),
): Promise<BenchProcess> {
  const child = spawn(
    process.execPath,
    [...profilerArgs(), '--import', import.meta.resolve('tsx'), ...args],
    {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // The last lines only, for a failure message: a process may log for the whole benchmark.
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 100) lines.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const ports = await new Promise<{ port: number; adminPort?: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} did not start:\n${lines.join('\n')}`)),
      60_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      try {
        const ready = isReadyLine(JSON.parse(line) as Record<string, unknown>);
        if (ready) {
          clearTimeout(timer);
          resolve(ready);
        }
      } catch {
        // Not JSON.
      }
    });
    void exited.then((code) =>
      reject(new Error(`${args.join(' ')} exited with ${code}:\n${lines.join('\n')}`)),
    );
  });
  return {
    url: `http://127.0.0.1:${ports.port}`,
    adminUrl: ports.adminPort ? `http://127.0.0.1:${ports.adminPort}` : undefined,
    pid: child.pid!,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** `sluice gateway`, from this checkout or from `checkout` (another one, e.g. to compare with main). */
export function startGatewayProcess(env: NodeJS.ProcessEnv, checkout = repoRoot()): Promise<BenchProcess> {
  return startProcess(
    [join(checkout, 'cli', 'sluice.ts'), 'gateway'],
    { ...env, SLUICE_LOG_LEVEL: 'info' },
    (entry) =>
      entry.msg === 'gateway listening' && typeof entry.port === 'number'
        ? { port: entry.port, adminPort: entry.adminPort as number }
        : undefined,
    checkout,
  );
}

/** `sluice deliver`: it serves only its admin port, which is then both `url` and `adminUrl`. */
export function startDeliverProcess(env: NodeJS.ProcessEnv, checkout = repoRoot()): Promise<BenchProcess> {
  return startProcess(
    [join(checkout, 'cli', 'sluice.ts'), 'deliver'],
    { ...env, SLUICE_LOG_LEVEL: 'info' },
    (entry) =>
      entry.msg === 'delivery worker running' && typeof entry.adminPort === 'number'
        ? { port: entry.adminPort, adminPort: entry.adminPort }
        : undefined,
    checkout,
  );
}

/** `sluice log`: it serves only its admin port, which is then both `url` and `adminUrl`. */
export function startSluiceLogProcess(env: NodeJS.ProcessEnv, checkout = repoRoot()): Promise<BenchProcess> {
  return startProcess(
    [join(checkout, 'cli', 'sluice.ts'), 'log'],
    { ...env, SLUICE_LOG_LEVEL: 'info' },
    (entry) =>
      entry.msg === 'delivery log started' && typeof entry.adminPort === 'number'
        ? { port: entry.adminPort, adminPort: entry.adminPort }
        : undefined,
    checkout,
  );
}

/** Resolves once `<adminUrl>/readyz` answers 200 (Kafka and Redis reached, consumers joined). */
export async function waitReady(adminUrl: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const status = await fetch(`${adminUrl}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error(`${adminUrl} did not become ready in ${timeoutMs} ms`);
}

/** The delivery floor (delivery-floor.ts): no port; ready once its consumer has joined. */
export function startDeliveryFloorProcess(env: NodeJS.ProcessEnv): Promise<BenchProcess> {
  return startProcess([join(repoRoot(), 'load-tests', 'bench', 'delivery-floor.ts')], env, (entry) =>
    entry.msg === 'delivery floor running' ? { port: 0 } : undefined,
  );
}

export function startBareServer(): Promise<BenchProcess> {
  return startProcess([join(repoRoot(), 'load-tests', 'bench', 'bare-uws-server.ts')], {}, (entry) =>
    typeof entry.port === 'number' ? { port: entry.port } : undefined,
  );
}

/**
 * The one event every benchmark sends: the latest `order.created` fixture as this bench was
 * written (v2, a 180-byte Avro record), pinned so figures stay comparable when the schema moves on.
 */
export const benchEvent = {
  type: 'order.created',
  data: JSON.parse(
    readFileSync(new URL('../../schemas/fixtures/order.created/v2.json', import.meta.url), 'utf8'),
  ) as unknown,
} as const;

/**
 * An admin key for every event type whose rate limit never binds, written as the only line of
 * `<workDir>/api-keys.jsonl`: the benchmarks measure Sluice, not its limiter.
 */
export function writeUnlimitedBenchKey(workDir: string): { apiKey: string; keysFile: string } {
  const key = createApiKey({
    producerId: 'bench',
    role: 'admin',
    allowedEventTypes: ['*'],
    ratePerSecond: 10_000_000,
    burst: 10_000_000,
    priority: 'critical',
  });
  const keysFile = join(workDir, 'api-keys.jsonl');
  writeFileSync(keysFile, `${key.line}\n`, { mode: 0o600 });
  return { apiKey: key.apiKey, keysFile };
}

/** Resident set size of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}
