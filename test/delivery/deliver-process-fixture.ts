import type { ChildProcess } from 'node:child_process';
import { onTestFinished } from 'vitest';
import { spawnSluice } from '../support/sluice-process.js';
import { createTopicsWithLeaders } from '../../common/kafka/index.js';
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
import { prepareDelivery, type DeliverySetup } from './delivery-fixture.js';
import { scrapeMetric } from '../support/prometheus-text.js';

/**
 * Delivery topics plus what `sluice deliver` needs besides: a subscriptions topic, a keyring, and
 * a subscription store on them for the test to create subscriptions with.
 */
export async function prepareDeliverProcess(
  envOverrides: Record<string, string> = {},
): Promise<{ setup: DeliverySetup; store: SubscriptionStore }> {
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
    ...envOverrides,
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

export interface DeliverProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  adminUrl: string;
  /** The log lines kept (stdout and stderr), joined: all of them, or the last `keepLogLines`. */
  logText(): string;
  /** One metric sample's value (summed over matching labels) from the process's /metrics. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/**
 * Runs `sluice deliver` as its own process, as an operator would; SIGKILLed when the test finishes
 * if still running. `keepLogLines` bounds the log kept in memory (every retry logs a line).
 */
export async function spawnDeliver(
  setup: DeliverySetup,
  options: { keepLogLines?: number } = {},
): Promise<DeliverProcess> {
  const deliver = await spawnSluice(
    'deliver',
    setup.env,
    (entry) =>
      entry.msg === 'delivery worker running' && entry.adminPort ? Number(entry.adminPort) : undefined,
    options,
  );
  const { child, exited, logLines } = deliver;
  const logText = () => logLines.join('\n');
  const adminPort = deliver.ready;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  return {
    child,
    exited,
    adminUrl,
    logText,
    metric: (name, labels) => scrapeMetric(adminUrl, name, labels),
  };
}
