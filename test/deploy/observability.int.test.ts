import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners } from '../../common/kafka/index.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { encodeEvent } from '../../schemas/index.js';
import {
  catalog,
  eventually,
  fixtureData,
  MemorySubscriptions,
  prepareDelivery,
  startReceiver,
  startTestWorker,
  testSubscription,
} from '../delivery/delivery-fixture.js';
import { send } from '../gateway/ingest-client.js';
import { prepareGateway, startTestGateway } from '../support/gateway-fixture.js';
import { attemptRecords, produceAttempts, readLag, startTestLog } from '../log/log-fixture.js';
import { connectedAdmin, createTestTopic, testKafka, testProducer } from '../support/kafka-fixture.js';
import { createTestDatabase, migrateLogDatabase } from '../support/postgres-fixture.js';
import { createRegistryTopic } from '../support/registry-topic.js';
import { scrapeMetric } from '../support/prometheus-text.js';
import { uniqueName } from '../support/stack-env.js';
import { chartDir } from './helm.js';
import {
  dashboardExpressions,
  metricNames,
  metricsNotYetInCode,
  ruleExpressions,
} from './observability-queries.js';
import { startPrometheus } from './prometheus.js';

// docs/architecture.md#observability: every query of the shipped dashboard and alert rules is
// checked against a real Prometheus scraping a running Sluice. The Sluice here is real: two
// gateways (one whose events topic does not exist, so Kafka cannot take its writes) and a delivery
// worker consuming the first gateway's topic, with one healthy and one failing webhook receiver.
// The traffic below is what makes the labelled series exist (a counter with labels has no series
// until it counts).
//
// A delivery log (`sluice log`) beside them stores attempt records produced to its topic, one of
// them unreadable, in a PostgreSQL database of its own.
//
// A third gateway receives inbound webhooks (POST /in/{sourceId}) for one source: accepted, a
// provider's repeat, a wrong token and none at all.
//
// Metrics that come from outside Sluice: `up` (Prometheus itself) is checked like Sluice's;
// kube-state-metrics' `kube_*` cannot exist here, so their queries are only checked to parse and
// evaluate, as are those of metrics queried ahead of the code that registers them
// (observability-queries.ts, `awaitedMetrics`).
const awaited = new Set(metricsNotYetInCode());
const external = (name: string) => name.startsWith('kube_') || awaited.has(name);

async function post(baseUrl: string, apiKey: string, event: unknown): Promise<number> {
  const response = await fetch(`${baseUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Posts until accepted: on this shared two-core machine a 503 (shedding, slow ack) can happen. */
async function postAccepted(baseUrl: string, apiKey: string, event: unknown): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const status = await post(baseUrl, apiKey, event);
    if (status === 202) return;
    if (status !== 503 || attempt === 5) throw new Error(`POST /v1/events answered ${status}`);
    await sleep(500);
  }
}

function orderCreated(id = `evt_${randomUUID()}`) {
  return {
    type: 'order.created',
    key: uniqueName('order'),
    id,
    time: new Date().toISOString(),
    data: fixtureData('order.created'),
  };
}

/**
 * Writes an event to Kafka once more, as the gateway wrote it (same id, producer and headers): what
 * Kafka holds after a producer retry whose first write had in fact succeeded.
 */
async function writeAgain(
  topic: string,
  event: ReturnType<typeof orderCreated>,
  producerId: string,
  schemaId?: number,
) {
  const encoded = encodeEvent(catalog.latest(event.type)!, event.data);
  if (!encoded.ok) throw new Error(encoded.message);
  // Another schema id in the wire header (bytes 1–4), for a record naming an id nobody registered.
  if (schemaId !== undefined) encoded.value.writeUInt32BE(schemaId, 1);
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: event.key,
          value: encoded.value,
          headers: {
            ce_specversion: '1.0',
            ce_id: event.id,
            ce_type: event.type,
            ce_source: `/producers/${producerId}`,
            ce_time: event.time,
            'content-type': 'application/avro',
            sluice_producer: producerId,
          },
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
}

/** One source; a webhook accepted, repeated (a duplicate), sent with a wrong token and with none. */
async function inboundTraffic(baseUrl: string, adminKey: string): Promise<void> {
  const created = await send(baseUrl, {
    path: '/v1/sources',
    apiKey: adminKey,
    contentType: 'application/json',
    body: {
      name: 'crm',
      verification: { scheme: 'header-token', header: 'X-Webhook-Token' },
      secret: 'crm-token-123',
      eventType: { from: 'fixed', value: 'contact.updated' },
      eventId: { from: 'header', name: 'X-Delivery' },
    },
  });
  expect(created.status, created.text).toBe(201);
  const sourceId = (created.json as { id: string }).id;
  const inbound = (headers: Record<string, string>) =>
    send(baseUrl, { path: `/in/${sourceId}`, contentType: 'application/json', headers, body: '{}' });
  const signed = { 'x-webhook-token': 'crm-token-123', 'x-delivery': 'dlv_1' };
  for (let attempt = 1; ; attempt++) {
    const answer = await inbound(signed);
    if (answer.status === 202) break;
    if (answer.status !== 503 || attempt === 5) throw new Error(`POST /in answered ${answer.status}`);
    await sleep(500);
  }
  expect((await inbound(signed)).json).toMatchObject({ duplicate: true });
  expect((await inbound({ ...signed, 'x-webhook-token': 'forged' })).status).toBe(401);
  expect((await inbound({ 'x-delivery': 'dlv_2' })).status).toBe(401);
}

describe('dashboard and alert rules against a real Prometheus scraping Sluice', () => {
  it('parses every query, finds series for every metric it names, and evaluates every rule without error', async () => {
    // Delivery: a one-tier schedule and a breaker that opens on the first failure, so retries,
    // parking, dead letters and breaker states all happen within seconds.
    const delivery = await prepareDelivery({
      SLUICE_RETRY_SCHEDULE: '1s',
      SLUICE_BREAKER_MIN_ATTEMPTS: '1',
      SLUICE_BREAKER_RESET_MS: '1s',
    });
    const healthy = await startReceiver();
    const failing = await startReceiver();
    failing.respondWith((_req, res) => res.writeHead(500).end('no'));
    const subscriptions = new MemorySubscriptions();
    const healthySub = testSubscription({ url: healthy.url, eventTypes: ['order.*'] });
    subscriptions.put(healthySub);
    subscriptions.put(testSubscription({ url: failing.url, eventTypes: ['order.created'] }));
    const worker = await startTestWorker(delivery, subscriptions);

    // Gateway A writes to the worker's events topic; gateway B to a topic that does not exist.
    const setupA = await prepareGateway(
      [{ producerId: 'shop-a' }, { producerId: 'shop-t', tenant: 'acme' }],
      {
        SLUICE_EVENTS_TOPIC: delivery.eventsTopic,
        // Everything here shares one event loop on a busy machine; this test is not about shedding.
        SLUICE_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
      },
    );
    const gatewayA = await startTestGateway(setupA);
    const missingTopic = uniqueName('missing-events');
    const setupB = await prepareGateway([{ producerId: 'shop-c' }], {
      SLUICE_EVENTS_TOPIC: missingTopic,
      SLUICE_PRODUCE_TIMEOUT_MS: '300ms',
      // Every request must reach the producer and time out (503 Kafka unavailable), not be shed.
      SLUICE_SHED_MAX_QUEUE_DELAY_MS: '0',
      // Its Kafka client logs every failed metadata request; the 503 is what this test wants.
      SLUICE_LOG_LEVEL: 'fatal',
    });
    const gatewayB = await startTestGateway(setupB);
    // A registry of its own: creating a source registers the inbound record type there.
    const setupC = await prepareGateway([{ producerId: 'ops', role: 'admin' }], {
      SLUICE_SCHEMAS_TOPIC: await createRegistryTopic(),
      SLUICE_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    const gatewayC = await startTestGateway(setupC);

    // The delivery log: a migrated database of its own, and an attempts topic holding records
    // (stored: rows written, a write duration) and one it cannot read (skipped).
    const database = await createTestDatabase('sluice_observability');
    onTestFinished(() => database.drop());
    await migrateLogDatabase(database.url, { partitions: false });
    const kafkaAdmin = await connectedAdmin();
    const attemptsTopic = await createTestTopic(kafkaAdmin, 2, 'attempts');
    const attemptsProducer = testProducer();
    await attemptsProducer.connect();
    await produceAttempts(attemptsProducer, attemptsTopic, attemptRecords(20));
    await attemptsProducer.send({ topic: attemptsTopic, messages: [{ key: 'x', value: '{"v":1}' }] });
    await attemptsProducer.disconnect();
    const log = await startTestLog({ databaseUrl: database.url, topic: attemptsTopic });

    const adminTarget = (url: string) => url.replace('http://', '');
    const prometheus = await startPrometheus(
      [
        {
          name: 'sluice-gateway',
          targets: [
            adminTarget(gatewayA.adminUrl),
            adminTarget(gatewayB.adminUrl),
            adminTarget(gatewayC.adminUrl),
          ],
        },
        { name: 'sluice-delivery', targets: [adminTarget(worker.adminUrl)] },
        { name: 'sluice-log', targets: [adminTarget(log.adminUrl)] },
      ],
      [join(chartDir, 'alerts', 'sluice-alerts.yaml')],
    );

    // Accepted, delivered (healthy) and failed → retry → breaker open → parked → dead-lettered (failing).
    const first = orderCreated();
    await postAccepted(gatewayA.url, setupA.keys['shop-a']!, first);
    for (let i = 0; i < 3; i++) await postAccepted(gatewayA.url, setupA.keys['shop-a']!, orderCreated());
    await eventually('the first webhook', () =>
      healthy.received.some((r) => r.headers['webhook-id'] === first.id),
    );
    // The same event in Kafka twice: its second webhook is suppressed by the completion marker.
    await writeAgain(delivery.eventsTopic, first, 'shop-a');
    // A schema id the worker does not hold: it reads the registry again, still does not find it
    // (an unknown lookup), and dead-letters the record as unknown-schema-id.
    await writeAgain(delivery.eventsTopic, orderCreated(), 'shop-a', 2_000_000_000);
    // The same id posted again by the same producer is answered from the idempotency store.
    await postAccepted(gatewayA.url, setupA.keys['shop-a']!, first);
    // Rejected: unknown event type (422); Kafka unavailable (503) on gateway B.
    expect(await post(gatewayA.url, setupA.keys['shop-a']!, { ...orderCreated(), type: 'order.nope' })).toBe(
      422,
    );
    expect(await post(gatewayB.url, setupB.keys['shop-c']!, orderCreated())).toBe(503);
    // Refused: a key bound to tenant acme names another tenant (403, a tenant refusal).
    expect(await post(gatewayA.url, setupA.keys['shop-t']!, { ...orderCreated(), tenant: 'globex' })).toBe(
      403,
    );

    await inboundTraffic(gatewayC.url, setupC.keys.ops!);

    await eventually('a dedup hit', async () => (await worker.metric('sluice_dedup_hits_total')) > 0);
    await eventually(
      'a parked delivery',
      async () => (await worker.metric('sluice_delivery_parked_total')) > 0,
    );
    await eventually('a dead letter', async () => (await worker.metric('sluice_dead_letters_total')) > 0);
    await eventually(
      'a schema id still unknown after reading the registry again',
      async () => (await worker.metric('sluice_schema_id_lookups_total', { result: 'unknown' })) > 0,
    );

    await eventually(
      'the log stored the attempts and skipped the unreadable record',
      async () =>
        (await scrapeMetric(log.adminUrl, 'sluice_log_rows_written_total')) >= 20 &&
        (await scrapeMetric(log.adminUrl, 'sluice_log_records_skipped_total')) >= 1,
    );
    await eventually('the log reported its lag', async () => (await readLag(log.adminUrl)) !== undefined);

    // Every metric the queries name must have reached Prometheus.
    const expressions = [...dashboardExpressions(), ...ruleExpressions()];
    const names = [...new Set(expressions.flatMap(({ expr }) => metricNames(expr)))].filter(
      (n) => !external(n),
    );
    let missing: string[] = names;
    const deadline = Date.now() + 30_000;
    while (missing.length > 0 && Date.now() < deadline) {
      const present = await Promise.all(
        missing.map(async (name) => {
          const answer = await prometheus.api('series', { 'match[]': name });
          return (answer.data as unknown[] | undefined)?.length ? name : undefined;
        }),
      );
      missing = missing.filter((name) => !present.includes(name));
      if (missing.length > 0) await sleep(500);
    }
    expect(missing, 'metrics named by a query without a single series in Prometheus').toEqual([]);

    // Every query parses and evaluates (Grafana variables substituted).
    const failures: string[] = [];
    for (const { source, expr } of expressions) {
      const answer = await prometheus.api('query', { query: expr });
      if (answer.status !== 'success')
        failures.push(`${source}: ${answer.errorType} ${answer.error}\n  ${expr}`);
    }
    expect(failures).toEqual([]);

    // The labels the rules rely on: job from the scrape config, `service` from the process.
    const services = await prometheus.api('query', {
      query:
        'count by (job, service) (sluice_http_requests_total or sluice_deliveries_total or sluice_log_rows_written_total)',
    });
    const pairs = (services.data as { result: { metric: Record<string, string> }[] }).result.map(
      (r) => `${r.metric.job}/${r.metric.service}`,
    );
    expect(pairs.sort()).toEqual(['sluice-delivery/delivery', 'sluice-gateway/gateway', 'sluice-log/log']);

    // Prometheus loaded the rules file itself and evaluated every rule without error.
    await eventually('every rule evaluated', async () => {
      const answer = await prometheus.api('rules');
      const rules = (
        answer.data as { groups: { rules: { name: string; health: string; lastError?: string }[] }[] }
      ).groups.flatMap((group) => group.rules);
      expect(rules).toHaveLength(ruleExpressions().length);
      const unhealthy = rules.filter((rule) => rule.health !== 'ok');
      if (unhealthy.some((rule) => rule.health === 'err')) {
        throw new Error(
          `rules failing: ${JSON.stringify(unhealthy.filter((rule) => rule.health === 'err'))}`,
        );
      }
      return unhealthy.length === 0;
    });
  });
});
