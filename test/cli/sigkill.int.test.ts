import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually, prepareDelivery } from '../delivery/delivery-fixture.js';
import { processesWithEnv, sluiceProcessesWithEnv, spawnCli } from '../support/cli-process.js';
import { prepareGateway } from '../support/gateway-fixture.js';

/**
 * `count` consecutive free ports (the first, then `sluice dev`'s gateway admin and worker admin),
 * chosen below Linux's ephemeral range (32768–60999): a port picked with `listen(0)` comes from
 * that range, where any test's outgoing connection or port-0 server can take it, or the one after
 * it, before the process binds it.
 */
async function freePortsBelowEphemeral(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return ports;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Whether anything accepts a connection at `url` (any HTTP answer counts). */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `pid` still runs. A zombie does not: it has exited and only waits to be reaped, which
 * for an orphan is up to whatever adopted it (in a container, possibly nobody).
 */
/** Whatever happens, nothing this test started outlives it, orphans included. */
function killAllWith(marker: string): void {
  onTestFinished(() => {
    for (const { pid } of processesWithEnv(marker)) process.kill(pid, 'SIGKILL');
  });
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('SIGKILL of `node bin/sluice.js …` leaves no Sluice process behind', () => {
  it('gateway: the pid that served is the gateway itself, and after SIGKILL nothing answers', async () => {
    const setup = await prepareGateway([{ producerId: 'ops', role: 'admin' }]);
    const marker = `SLUICE_TEST_MARKER=${randomUUID()}`;
    killAllWith(marker);
    const gateway = spawnCli(['gateway'], {
      ...setup.env,
      SLUICE_LOG_LEVEL: 'info',
      SLUICE_TEST_MARKER: marker.split('=')[1],
    });
    const [listening] = await gateway.waitFor(/\{[^\n]*"msg":"gateway listening"[^\n]*\}/);
    const { port, adminPort } = JSON.parse(listening) as { port: number; adminPort: number };
    const url = `http://127.0.0.1:${port}/v1/event-types`;
    const adminUrl = `http://127.0.0.1:${adminPort}/healthz`;
    expect(await answers(url)).toBe(true);
    expect(await answers(adminUrl)).toBe(true);
    // One process, the one spawned: no launcher with a child holding the port.
    expect(sluiceProcessesWithEnv(marker)).toEqual([gateway.pid]);

    gateway.child.kill('SIGKILL');
    await gateway.exited;
    expect(isAlive(gateway.pid)).toBe(false);
    expect(sluiceProcessesWithEnv(marker)).toEqual([]);
    expect(await answers(url)).toBe(false);
    expect(await answers(adminUrl)).toBe(false);
  });

  it('dev: its gateway, delivery worker and delivery log stop when `sluice dev` is SIGKILLed', async () => {
    const gatewaySetup = await prepareGateway([{ producerId: 'ops', role: 'admin' }]);
    const deliverySetup = await prepareDelivery({
      SLUICE_SUBSCRIPTIONS_TOPIC: gatewaySetup.subscriptionsTopic,
      SLUICE_SECRETS_KEYS: gatewaySetup.env.SLUICE_SECRETS_KEYS!,
    });
    // Fixed ports, so that `sluice dev` can wait for their /readyz before it prints "ready"; the
    // worker's admin port is the one after the gateway's and the log's the next, so all must be free.
    const [port, adminPort] = (await freePortsBelowEphemeral(4)) as [number, number, number, number];
    const marker = `SLUICE_TEST_MARKER=${randomUUID()}`;
    killAllWith(marker);
    const dev = spawnCli(['dev'], {
      ...deliverySetup.env,
      ...gatewaySetup.env,
      SLUICE_EVENTS_TOPIC: deliverySetup.eventsTopic,
      SLUICE_PORT: String(port),
      SLUICE_ADMIN_PORT: String(adminPort),
      SLUICE_LOG_LEVEL: 'info',
      SLUICE_TEST_MARKER: marker.split('=')[1],
    });
    await dev.waitFor(/Sluice is ready/, 90_000);
    expect(dev.output()).toContain(`events API     http://127.0.0.1:${port}/v1/events`);
    const devChildren = sluiceProcessesWithEnv(marker).filter((pid) => pid !== dev.pid);
    // The gateway, the worker and `sluice log` (dev migrates the stack's database and runs it).
    expect(devChildren).toHaveLength(3);
    expect(await answers(`http://127.0.0.1:${adminPort + 2}/healthz`)).toBe(true);
    const gatewayUrl = `http://127.0.0.1:${port}/v1/event-types`;
    expect(await answers(gatewayUrl)).toBe(true);

    dev.child.kill('SIGKILL');
    await dev.exited;
    // They stop gracefully (in-flight work, commits), which takes a moment; no timing bound here.
    await eventually(
      'no process of that `sluice dev` left',
      () => sluiceProcessesWithEnv(marker).length === 0,
      60_000,
    );
    for (const pid of devChildren) expect(isAlive(pid)).toBe(false);
    expect(await answers(gatewayUrl)).toBe(false);
    expect(await answers(`http://127.0.0.1:${adminPort}/healthz`)).toBe(false);
    expect(await answers(`http://127.0.0.1:${adminPort + 1}/healthz`)).toBe(false);
    expect(await answers(`http://127.0.0.1:${adminPort + 2}/healthz`)).toBe(false);
  });
});
