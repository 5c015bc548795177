import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isAlive, isPortOpen } from './processes.js';
import { freePort } from '../../test/support/own-redis.js';
import { repoRoot } from './paths.js';

/** Runs `sluice stack …` as an operator would, on ports and a state folder of the test's own. */
function sluice(args: string[], env: Record<string, string>) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of [
    'KAFKA_BROKERS',
    'SLUICE_KAFKA_BROKERS',
    'REDIS_URL',
    'SLUICE_REDIS_URL',
    'SLUICE_LOG_DATABASE_URL',
  ])
    delete childEnv[name];
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(repoRoot(), 'cli', 'sluice.ts'), ...args],
    {
      env: childEnv,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * A stack of the test's own: a state folder and four ports that are free right now (asked of
 * the OS, not guessed: other suites run beside this one and hold ports of their own).
 * `kafkaPort` fixes the broker's port, e.g. to one a squatter holds.
 */
async function isolatedStack(kafkaPort?: number) {
  const stateDir = mkdtempSync(join(tmpdir(), 'sluice-stack-'));
  const ports = [kafkaPort ?? (await freePort()), await freePort(), await freePort(), await freePort()];
  const env = {
    SLUICE_STATE_DIR: stateDir,
    SLUICE_STACK_KAFKA_PORT: String(ports[0]),
    SLUICE_STACK_KAFKA_CONTROLLER_PORT: String(ports[1]),
    SLUICE_STACK_REDIS_PORT: String(ports[2]),
    SLUICE_STACK_POSTGRES_PORT: String(ports[3]),
    SLUICE_STACK_KAFKA_HEAP_MAX_BYTES: '512MiB',
  };
  onTestFinished(() => {
    sluice(['stack', 'down'], env);
    rmSync(stateDir, { recursive: true, force: true });
  });
  return { env, ports };
}

function pids(statusOutput: string): number[] {
  return [...statusOutput.matchAll(/pid (\d+)/g)].map((match) => Number(match[1]));
}

describe('sluice stack', () => {
  it('comes up twice without harm, and down leaves no process running and no port bound', async () => {
    const { env, ports } = await isolatedStack();
    const first = sluice(['stack', 'up'], env);
    expect(first.output).toContain('stack ready');
    expect(first.output).toContain(`SLUICE_LOG_DATABASE_URL=postgres://sluice@127.0.0.1:${ports[3]}/sluice`);
    expect(first.code).toBe(0);
    for (const port of ports) expect(await isPortOpen(port)).toBe(true);

    const second = sluice(['stack', 'up'], env);
    expect(second.code).toBe(0);
    expect(second.output).toContain('already running');

    const running = pids(sluice(['stack', 'status'], env).output);
    expect(running).toHaveLength(3);

    const down = sluice(['stack', 'down'], env);
    expect(down.code).toBe(0);
    for (const pid of running) expect(isAlive(pid)).toBe(false);
    for (const port of ports) expect(await isPortOpen(port)).toBe(false);
    expect(sluice(['stack', 'status'], env).output).not.toMatch(/running/);
  });

  it('refuses to start when a foreign process holds a port, and names the port', async () => {
    const squatter = createServer(() => undefined);
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
    const { env, ports } = await isolatedStack((squatter.address() as AddressInfo).port);

    const result = sluice(['stack', 'up'], env);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`port ${ports[0]} is already in use by another process`);
    // The squatter is left alone.
    expect(await isPortOpen(ports[0]!)).toBe(true);
  });
});
