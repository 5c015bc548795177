import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { repoRoot } from '../../cli/stack/paths.js';
import { createLogger } from '../../common/logger.js';
import { createSsrfPolicy } from '../../common/ssrf-guard.js';
import {
  generateSecretsKey,
  parseSecretsKeys,
  SecretsKeyring,
} from '../../common/subscriptions/secrets-keyring.js';
import {
  createSubscriptionStore,
  type SubscriptionStore,
} from '../../common/subscriptions/subscription-store.js';
import { connectedAdmin, testKafka } from '../support/kafka-fixture.js';
import { uniqueName } from '../support/stack-env.js';
import {
  eventually,
  prepareDelivery,
  produceEvents,
  startReceiver,
  type DeliverySetup,
} from './delivery-fixture.js';
import { createTopicsWithLeaders } from '../../common/kafka/create-topics.js';

interface DeliverProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  logLines: string[];
  adminUrl: string;
}

/** Everything `sluice deliver` needs beyond the delivery topics: a subscriptions topic and a keyring. */
async function prepareProcess(): Promise<{ setup: DeliverySetup; store: SubscriptionStore }> {
  const admin = await connectedAdmin();
  const subscriptionsTopic = uniqueName('subscriptions');
  await createTopicsWithLeaders(admin, [
    {
      topic: subscriptionsTopic,
      numPartitions: 1,
      replicationFactor: 1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
  ]);
  onTestFinished(async () => {
    await admin.deleteTopics({ topics: [subscriptionsTopic] }).catch(() => undefined);
  });
  const secretsKeys = generateSecretsKey('test');
  const setup = await prepareDelivery({
    SLUICE_SUBSCRIPTIONS_TOPIC: subscriptionsTopic,
    SLUICE_SECRETS_KEYS: secretsKeys,
  });
  const keyring = parseSecretsKeys(secretsKeys);
  if (!(keyring instanceof SecretsKeyring)) throw new Error(keyring.problems.join('; '));
  const store = createSubscriptionStore({
    kafka: testKafka(),
    topic: subscriptionsTopic,
    keyring,
    ssrfPolicy: createSsrfPolicy({ allowedCidrs: ['127.0.0.0/8'] }),
    logger: createLogger('test-subscriptions', 'warn'),
  });
  onTestFinished(() => store.stop());
  await store.start();
  return { setup, store };
}

/** Runs `sluice deliver` as its own process, as an operator would; killed when the test finishes. */
async function spawnDeliver(setup: DeliverySetup): Promise<DeliverProcess> {
  const root = repoRoot();
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(root, 'cli', 'sluice.ts'), 'deliver'],
    {
      cwd: root,
      env: { ...process.env, ...setup.env, SLUICE_LOG_LEVEL: 'info' },
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
  createInterface({ input: child.stderr! }).on('line', (line) => logLines.push(line));
  const adminPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`sluice deliver did not start:\n${logLines.join('\n')}`)),
      60_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logLines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; adminPort?: number };
        if (entry.msg === 'delivery worker running' && entry.adminPort) {
          clearTimeout(timer);
          resolve(entry.adminPort);
        }
      } catch {
        // Not a log line of ours.
      }
    });
    void exited.then((code) =>
      reject(new Error(`sluice deliver exited with ${code}:\n${logLines.join('\n')}`)),
    );
  });
  return { child, exited, logLines, adminUrl: `http://127.0.0.1:${adminPort}` };
}

describe('sluice deliver (the process)', () => {
  it('delivers to subscriptions from the subscription store, disables one on 410, and exits 0 on SIGTERM', async () => {
    const { setup, store } = await prepareProcess();
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
    expect(deliver.logLines.join('\n')).not.toContain('whsec_');
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
