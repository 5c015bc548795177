import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../cli/stack/paths.js';
import { createLogger } from '../../common/logger.js';
import { loadDeliveryConfig } from '../../consumers/delivery-config.js';
import { replayDeadLetters, type DlqReplayReport } from '../../consumers/dlq-replay.js';
import { readTopic, testKafka } from '../support/kafka-fixture.js';
import {
  eventually,
  MemorySubscriptions,
  prepareDelivery,
  produceEvents,
  startReceiver,
  startTestWorker,
  testSubscription,
} from './delivery-fixture.js';

describe('sluice dlq replay', () => {
  it('re-sends one subscription’s dead letters through the retry tiers; --dry-run only counts', async () => {
    const setup = await prepareDelivery({ SLUICE_RETRY_SCHEDULE: '1s' });
    const orders = await startReceiver();
    const payments = await startReceiver();
    orders.respondWith((_req, res) => res.writeHead(500).end());
    payments.respondWith((_req, res) => res.writeHead(500).end());
    const subscriptions = new MemorySubscriptions();
    const orderSub = testSubscription({ url: orders.url, eventTypes: ['order.created'] });
    const paymentSub = testSubscription({ url: payments.url, eventTypes: ['payment.succeeded'] });
    subscriptions.put(orderSub);
    subscriptions.put(paymentSub);
    const { metric } = await startTestWorker(setup, subscriptions);
    const events = await produceEvents(setup.eventsTopic, [
      { type: 'order.created' },
      { type: 'order.created' },
      { type: 'payment.succeeded' },
      { rawValue: Buffer.from('poison') },
    ]);
    await readTopic(setup.dlqTopic, 4, { timeoutMs: 30_000, settleMs: 200 });

    // The CLI, as an operator runs it, without writing anything.
    const root = repoRoot();
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(root, 'cli', 'sluice.ts'), 'dlq', 'replay', '--dry-run'],
      { cwd: root, env: { ...process.env, ...setup.env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
    const dryRun = JSON.parse(output.trim().split('\n').at(-1)!) as DlqReplayReport;
    expect(dryRun).toMatchObject({
      read: 4,
      replayed: 3,
      dryRun: true,
      skippedWithoutSubscription: 1,
      bySubscription: { [orderSub.id]: 2, [paymentSub.id]: 1 },
    });

    orders.respondWith((_req, res) => res.writeHead(200).end());
    payments.respondWith((_req, res) => res.writeHead(200).end());
    const config = loadDeliveryConfig(setup.env);
    const report = await replayDeadLetters(
      config,
      { subscriptionId: orderSub.id, sinceMs: undefined, dryRun: false },
      createLogger('test-replay', 'warn'),
      testKafka(),
    );
    expect(report).toMatchObject({ read: 4, replayed: 2, skippedByFilter: 1, skippedWithoutSubscription: 1 });
    await eventually('both order events delivered', async () =>
      (await metric('sluice_deliveries_total', { subscription_id: orderSub.id, outcome: 'delivered' })) === 2
        ? true
        : undefined,
    );
    const delivered = orders.received.filter((_r, index) => index >= 4).map((r) => r.headers['webhook-id']);
    expect(new Set(delivered)).toEqual(new Set([events[0]!.id, events[1]!.id]));
    expect(payments.received).toHaveLength(2);
  });
});
