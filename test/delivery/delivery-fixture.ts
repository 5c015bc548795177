import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { retryTopicName } from '../../common/retry/retry-schedule.js';
import { compileSubscriptionMatcher } from '../../common/subscriptions/subscription-matcher.js';
import type { Subscription, SubscriptionView } from '../../common/subscriptions/subscription.js';
import { loadDeliveryConfig } from '../../consumers/delivery-config.js';
import { startDeliveryWorker, type RunningDeliveryWorker } from '../../consumers/delivery-worker.js';
import { encodeEvent, loadSchemaCatalog } from '../../schemas/index.js';
import { connectedAdmin, testProducer } from '../support/kafka-fixture.js';
import { testKafkaBrokers, testRedisUrl, uniqueName } from '../support/stack-env.js';
import { createTopicsWithLeaders } from '../../common/kafka/index.js';
import { scrapeMetric } from '../support/prometheus-text.js';
import { sampleSubscription } from '../support/sample-subscription.js';

export const catalog = loadSchemaCatalog();

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs` naming `what`. */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface DeliverySetup {
  env: Record<string, string>;
  eventsTopic: string;
  dlqTopic: string;
  retryTopics: string[];
  /** Where the worker writes its attempt records. */
  attemptsTopic: string;
}

/**
 * Fresh topics (events, one per retry tier, dead letters), group ids and Redis prefixes, so nothing
 * a test does can be seen by another. The schedule is short (`1s,2s` unless told otherwise).
 */
export async function prepareDelivery(
  envOverrides: Record<string, string> = {},
  eventsPartitions = 3,
): Promise<DeliverySetup> {
  const admin = await connectedAdmin();
  const prefix = uniqueName('dlv');
  const schedule = envOverrides.SLUICE_RETRY_SCHEDULE ?? '1s,2s';
  const env: Record<string, string> = {
    KAFKA_BROKERS: testKafkaBrokers.join(','),
    REDIS_URL: testRedisUrl,
    SLUICE_HOST: '127.0.0.1',
    SLUICE_ADMIN_PORT: '0',
    SLUICE_EVENTS_TOPIC: `${prefix}.events`,
    SLUICE_RETRY_TOPIC_PREFIX: `${prefix}.retry.`,
    SLUICE_DLQ_TOPIC: `${prefix}.dlq`,
    SLUICE_ATTEMPTS_TOPIC: `${prefix}.attempts`,
    SLUICE_RETRY_SCHEDULE: schedule,
    SLUICE_DELIVERY_GROUP_ID: `${prefix}.group`,
    SLUICE_DEDUP_KEY_PREFIX: `${prefix}:dedup:`,
    SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8',
    SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS: '2s',
    SLUICE_DEDUP_LEASE_MS: '5s',
    // The 250-ms default counts a slower Redis answer as Redis down (fail-open: sent without the
    // check). The shared test machine can stall a process that long; tests of that path set theirs.
    SLUICE_REDIS_TIMEOUT_MS: '2s',
    SLUICE_SHUTDOWN_GRACE_MS: '5s',
    SLUICE_KAFKA_SESSION_TIMEOUT_MS: '10s',
    SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: '1s',
    SLUICE_DELIVERY_COMMIT_INTERVAL_MS: '200ms',
    SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'error',
    ...envOverrides,
  };
  const config = loadDeliveryConfig(env);
  const retryTopics = [
    ...new Set(config.retryDelaysMs.map((ms) => retryTopicName(config.topics.retryTopicPrefix, ms))),
  ];
  const topics = [
    config.topics.eventsTopic,
    ...retryTopics,
    config.topics.dlqTopic,
    config.topics.attemptsTopic,
  ];
  await createTopicsWithLeaders(
    admin,
    topics.map((topic, index) => ({
      topic,
      numPartitions: index === 0 || topic === config.topics.attemptsTopic ? eventsPartitions : 2,
      replicationFactor: 1,
    })),
  );
  onTestFinished(async () => {
    await admin.deleteTopics({ topics }).catch(() => undefined);
  });
  return {
    env,
    eventsTopic: config.topics.eventsTopic,
    dlqTopic: config.topics.dlqTopic,
    retryTopics,
    attemptsTopic: config.topics.attemptsTopic,
  };
}

/** An in-memory SubscriptionView that tests change at will (the real store has its own tests). */
export class MemorySubscriptions implements SubscriptionView {
  private readonly byId = new Map<string, Subscription>();
  readonly gone: string[] = [];

  put(subscription: Subscription): void {
    this.byId.set(subscription.id, subscription);
  }

  matching(eventType: string, producerId: string, tenant: string | undefined): readonly Subscription[] {
    return [...this.byId.values()].filter(
      (s) => s.enabled && compileSubscriptionMatcher(s)(eventType, producerId, tenant),
    );
  }

  get(id: string): Subscription | undefined {
    return this.byId.get(id);
  }

  all(): readonly Subscription[] {
    return [...this.byId.values()];
  }

  /** What the store's `disable(id, 'gone')` does, for the worker's `onGone`. */
  disableGone(id: string): void {
    this.gone.push(id);
    const current = this.byId.get(id);
    if (current) this.byId.set(id, { ...current, enabled: false, disabledReason: 'gone' });
  }
}

export function testSubscription(overrides: Partial<Subscription> & { url: string }): Subscription {
  const now = new Date().toISOString();
  return sampleSubscription({
    id: `sub_${randomUUID().replaceAll('-', '')}`,
    description: 'test',
    maxConcurrency: 10,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  });
}

export interface TestWorker {
  worker: RunningDeliveryWorker;
  adminUrl: string;
  fatalErrors: Error[];
  /** One metric sample's value from /metrics (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/** Runs a delivery worker in this process; shut down when the test finishes. */
export async function startTestWorker(
  setup: DeliverySetup,
  subscriptions: MemorySubscriptions,
  envOverrides: Record<string, string> = {},
): Promise<TestWorker> {
  const env = { ...setup.env, ...envOverrides };
  const fatalErrors: Error[] = [];
  const worker = await startDeliveryWorker(
    loadDeliveryConfig(env),
    createLogger('test-deliver', env.SLUICE_LOG_LEVEL),
    {
      subscriptions,
      onGone: (id) => subscriptions.disableGone(id),
      onFatal: (error) => fatalErrors.push(error),
      catalog,
    },
  );
  let stopped = false;
  const shutdown = worker.shutdown.bind(worker);
  worker.shutdown = async () => {
    stopped = true;
    await shutdown();
  };
  onTestFinished(async () => {
    if (!stopped) await worker.shutdown();
  });
  const adminUrl = `http://127.0.0.1:${worker.adminPort}`;
  return {
    worker,
    adminUrl,
    fatalErrors,
    metric: (name, labels) => scrapeMetric(adminUrl, name, labels),
  };
}

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}

export interface TestReceiver {
  url: string;
  received: ReceivedRequest[];
  /** Changes how the receiver answers from now on. */
  respondWith(handler: (req: IncomingMessage, res: ServerResponse, index: number) => void): void;
}

/** A real HTTP receiver on 127.0.0.1:0 that records every request; answers 200 until told otherwise. */
export async function startReceiver(): Promise<TestReceiver> {
  const received: ReceivedRequest[] = [];
  let handler = (_req: IncomingMessage, res: ServerResponse, _index: number) => {
    res.writeHead(200).end('ok');
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const index = received.length;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), path: req.url ?? '/' });
      handler(req, res, index);
    });
  });
  const url = await listenForTest(server);
  return {
    url,
    received,
    respondWith(next) {
      handler = next;
    },
  };
}

/** The valid `data` of the latest schema of `type`, from the schema fixtures. */
export function fixtureData(type: string): Record<string, unknown> {
  const schema = catalog.latest(type)!;
  return JSON.parse(
    readFileSync(join(catalog.dir!, 'fixtures', type, `v${schema.version}.json`), 'utf8'),
  ) as Record<string, unknown>;
}

export interface TestEvent {
  id: string;
  type: string;
  key: string;
  time: string;
  producer: string;
}

export interface ProduceOptions {
  type?: string;
  key?: string;
  producer?: string;
  /** Raw bytes instead of an encoded event (a poison record). */
  rawValue?: Buffer;
}

/** Writes events as the gateway does: Avro in the Confluent wire format, CloudEvents headers. */
export async function produceEvents(topic: string, events: ProduceOptions[]): Promise<TestEvent[]> {
  const producer = testProducer();
  await producer.connect();
  try {
    const written: TestEvent[] = [];
    const messages = events.map((options) => {
      const type = options.type ?? 'order.created';
      const event: TestEvent = {
        id: `evt_${randomUUID()}`,
        type,
        key: options.key ?? uniqueName('key'),
        time: new Date().toISOString(),
        producer: options.producer ?? 'test-producer',
      };
      written.push(event);
      let value = options.rawValue;
      if (value === undefined) {
        const encoded = encodeEvent(catalog.latest(type)!, fixtureData(type));
        if (!encoded.ok) throw new Error(`fixture of ${type} does not encode: ${encoded.message}`);
        value = encoded.value;
      }
      return {
        key: event.key,
        value,
        headers: {
          ce_specversion: '1.0',
          ce_id: event.id,
          ce_type: type,
          ce_source: '/test',
          ce_time: event.time,
          'content-type': 'application/avro',
          sluice_producer: event.producer,
        },
      };
    });
    await producer.send({ topic, acks: -1, messages });
    return written;
  } finally {
    await producer.disconnect();
  }
}

/** A port on 127.0.0.1 that nothing listens on (a dead endpoint). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Listens on a free loopback port and returns the webhook URL; when the test finishes, open
 * keep-alive sockets are destroyed so `close` does not wait for them.
 */
export async function listenForTest(server: NetServer): Promise<string> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
}
