import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../cli/stack/paths.js';
import { describe, expect, it } from 'vitest';
import { eventually, produceEvents, startReceiver } from './delivery-fixture.js';
import { prepareDeliverProcess, spawnDeliver } from './deliver-process-fixture.js';

describe('sluice deliver (the process)', () => {
  it('delivers to subscriptions from the subscription store, disables one on 410, and exits 0 on SIGTERM', async () => {
    const { setup, store } = await prepareDeliverProcess();
    const receiver = await startReceiver();
    const goneReceiver = await startReceiver();
    goneReceiver.respondWith((_req, res) => res.writeHead(410).end());
    const live = await store.create({ url: receiver.url, eventTypes: ['order.*'] });
    const gone = await store.create({ url: goneReceiver.url, eventTypes: ['order.created'] });
    const deliver = await spawnDeliver(setup);
    expect((await fetch(`${deliver.adminUrl}/healthz`)).status).toBe(200);
    await eventually('readiness', async () => (await fetch(`${deliver.adminUrl}/readyz`)).status === 200);

    const [event] = await produceEvents(setup.eventsTopic, [{}]);
    await eventually('the webhook', () => receiver.received.length >= 1);
    expect(receiver.received[0]!.headers['webhook-id']).toBe(event!.id);
    await eventually(
      'the 410 subscription disabled in the store',
      () => store.get(gone.id)?.enabled === false,
    );
    expect(store.get(gone.id)?.disabledReason).toBe('gone');
    expect(store.get(live.id)?.enabled).toBe(true);
    const metrics = await (await fetch(`${deliver.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/sluice_deliveries_total\{[^}]*outcome="delivered"[^}]*\} 1/);
    expect(metrics).toContain('nodejs_heap_size_used_bytes');

    deliver.child.kill('SIGTERM');
    expect(await deliver.exited).toBe(0);
    expect(deliver.logText()).not.toContain('whsec_');
  });

  it('refuses to start without its configuration, naming every problem, and exits non-zero', async () => {
    const root = repoRoot();
    const env = {
      ...process.env,
      SLUICE_ADMIN_PORT: '0',
      SLUICE_RETRY_SCHEDULE: '5s,1s',
      SLUICE_DEDUP_FAILURE_MODE: 'maybe',
      SLUICE_SECRETS_KEYS: '',
    };
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(root, 'cli', 'sluice.ts'), 'deliver'],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('SLUICE_RETRY_SCHEDULE must be strictly ascending');
    expect(output).toContain('SLUICE_DEDUP_FAILURE_MODE');
    expect(output).toContain('SLUICE_SECRETS_KEYS');
  });
});
