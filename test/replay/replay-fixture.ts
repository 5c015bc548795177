import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { onTestFinished } from 'vitest';
import { createLogger, type Logger } from '../../common/logger.js';
import { createSsrfPolicy } from '../../common/ssrf-guard.js';
import { parseSecretsKeys, SecretsKeyring } from '../../common/subscriptions/secrets-keyring.js';
import { createSubscriptionStore } from '../../common/subscriptions/subscription-store.js';
import { encodeEvent, loadSchemaCatalog, type SchemaCatalog } from '../../schemas/index.js';
import { loadDeliveryConfig } from '../../consumers/delivery-config.js';
import { startDeliveryWorker } from '../../consumers/delivery-worker.js';
import { prepareGateway, startTestGateway, type TestGatewaySetup } from '../support/gateway-fixture.js';
import { connectedAdmin, testKafka, testProducer } from '../support/kafka-fixture.js';
import { uniqueName } from '../support/stack-env.js';
import { fixtureData } from '../delivery/delivery-fixture.js';
import { createTopicsWithLeaders } from '../../common/kafka/index.js';

const catalog = loadSchemaCatalog();

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
  json: any;
}

export async function call(
  baseUrl: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  options: { key?: string | undefined; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await request(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

export interface ReplayGateway {
  setup: TestGatewaySetup;
  url: string;
  /** Plain API keys: `ops` (admin) and `shop` (producer). */
  admin: string;
  producer: string;
  /** Retry tiers in schedule order (`1s,2s`), and the dead-letter topic. */
  retryTopics: string[];
  dlqTopic: string;
}

/**
 * A gateway with its own events and subscriptions topics (prepareGateway) plus the retry tiers and
 * dead-letter topic of a `1s,2s` schedule, so a delivery worker can share all of them.
 */
export async function startReplayGateway(
  envOverrides: Record<string, string> = {},
  logger?: Logger,
): Promise<ReplayGateway> {
  const base = `replay-${randomUUID().slice(0, 8)}`;
  const setup = await prepareGateway(
    [
      { producerId: 'ops', role: 'admin' },
      { producerId: 'shop', role: 'producer' },
    ],
    {
      SLUICE_RETRY_SCHEDULE: '1s,2s',
      SLUICE_RETRY_TOPIC_PREFIX: `${base}.retry.`,
      SLUICE_DLQ_TOPIC: `${base}.dlq`,
      SLUICE_ATTEMPTS_TOPIC: `${base}.attempts`,
      SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8',
      ...envOverrides,
    },
  );
  const retryTopics = [`${base}.retry.1s`, `${base}.retry.2s`];
  const dlqTopic = `${base}.dlq`;
  const admin = await connectedAdmin();
  await createTopicsWithLeaders(
    admin,
    [...retryTopics, dlqTopic, `${base}.attempts`].map((topic) => ({
      topic,
      numPartitions: 2,
      replicationFactor: 1,
    })),
  );
  onTestFinished(async () => {
    await admin
      .deleteTopics({ topics: [...retryTopics, dlqTopic, `${base}.attempts`] })
      .catch(() => undefined);
  });
  const { url } = await startTestGateway(setup, logger);
  return { setup, url, admin: setup.keys.ops!, producer: setup.keys.shop!, retryTopics, dlqTopic };
}

export interface TimedEvent {
  type: string;
  producer: string;
  timestampMs: number;
  /** The partition key; random by default. Equal keys share a partition, in the order given. */
  key?: string;
}

export interface WrittenEvent extends TimedEvent {
  id: string;
  key: string;
}

/** Writes events as the gateway does, with explicit Kafka timestamps (CreateTime), in the given order. */
export async function produceAt(topic: string, events: TimedEvent[]): Promise<WrittenEvent[]> {
  const producer = testProducer();
  await producer.connect();
  try {
    const written = events.map((event) => ({
      ...event,
      id: `evt_${randomUUID()}`,
      key: event.key ?? `key-${randomUUID()}`,
    }));
    await producer.send({
      topic,
      acks: -1,
      messages: written.map((event) => {
        const encoded = encodeEvent(catalog.latest(event.type)!, fixtureData(event.type));
        if (!encoded.ok) throw new Error(encoded.message);
        return {
          key: event.key,
          value: encoded.value,
          timestamp: String(event.timestampMs),
          headers: {
            ce_specversion: '1.0',
            ce_id: event.id,
            ce_type: event.type,
            ce_source: '/test',
            ce_time: new Date(event.timestampMs).toISOString(),
            'content-type': 'application/avro',
            sluice_producer: event.producer,
          },
        };
      }),
    });
    return written;
  } finally {
    await producer.disconnect();
  }
}

/** Records in a topic right now (sum of high watermarks): exact, with no waiting for a consumer. */
export async function recordCount(topic: string): Promise<number> {
  const admin = await connectedAdmin();
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
}

/** The subscriptions as a delivery worker sees them: its own store on the gateway's topic. */
export async function workerStore(setup: TestGatewaySetup) {
  const keyring = parseSecretsKeys(setup.env.SLUICE_SECRETS_KEYS!);
  if (!(keyring instanceof SecretsKeyring)) throw new Error('bad test keyring');
  const store = createSubscriptionStore({
    kafka: testKafka(),
    topic: setup.subscriptionsTopic,
    keyring,
    ssrfPolicy: createSsrfPolicy({ allowedCidrs: ['127.0.0.0/8'] }),
    logger: createLogger('test-subscriptions', 'warn'),
  });
  onTestFinished(() => store.stop());
  await store.start();
  return store;
}

export interface StoreWorkerOptions {
  /** Names its consumer group (`<name>-group`). */
  name: string;
  /** Settings over the fast test defaults below (timeouts, grace, commit interval). */
  env?: Record<string, string>;
  logger?: Logger;
  /** Decodes with this catalog rather than the registry topic. */
  catalog?: SchemaCatalog;
  /**
   * Disables through `sluice deliver`'s own path (410s and failing endpoints, with the operational
   * events); otherwise a 410 disables through the store directly.
   */
  disableLikeDeliver?: boolean;
}

/**
 * A delivery worker in this process as `sluice deliver` runs one: its own subscription store on
 * the gateway's topic, the gateway's events, retry, dead-letter and attempts topics, a group of its
 * own. Stopped when the test finishes; its fatal errors are collected in `fatal`.
 */
export async function startStoreWorker(
  gw: ReplayGateway,
  options: StoreWorkerOptions,
): Promise<{ fatal: Error[]; adminUrl: string }> {
  const store = await workerStore(gw.setup);
  const config = loadDeliveryConfig({
    ...gw.setup.env,
    SLUICE_ADMIN_PORT: '0',
    SLUICE_DELIVERY_GROUP_ID: uniqueName(`${options.name}-group`),
    SLUICE_DEDUP_KEY_PREFIX: `${uniqueName('t')}:dedup:`,
    SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS: '2s',
    SLUICE_DEDUP_LEASE_MS: '5s',
    SLUICE_SHUTDOWN_GRACE_MS: '5s',
    SLUICE_KAFKA_SESSION_TIMEOUT_MS: '10s',
    SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: '1s',
    SLUICE_DELIVERY_COMMIT_INTERVAL_MS: '200ms',
    ...options.env,
  });
  const fatal: Error[] = [];
  const worker = await startDeliveryWorker(config, options.logger ?? createLogger('test-deliver', 'error'), {
    subscriptions: store,
    subscriptionsReady: () => store.isCaughtUp(),
    ...(options.disableLikeDeliver
      ? { disable: (id, reason, details) => store.disable(id, reason, details) }
      : { onGone: async (id: string) => void (await store.disable(id, 'gone')) }),
    onFatal: (error) => fatal.push(error),
    ...(options.catalog ? { catalog: options.catalog } : {}),
  });
  onTestFinished(() => worker.shutdown());
  return { fatal, adminUrl: `http://127.0.0.1:${worker.adminPort}` };
}
