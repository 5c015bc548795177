import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { prepareGateway, spawnGateway } from '../support/gateway-fixture.js';
import { connectedAdmin, readTopic } from '../support/kafka-fixture.js';
import {
  metricValue,
  postBatch,
  postEvent,
  scrapeMetrics,
  waitFor,
  type GatewayAnswer,
} from './admission-helpers.js';
import { createTopicsWithLeaders } from '../../common/kafka/index.js';

const maxPendingEvents = 20;

async function readiness(adminUrl: string): Promise<{ status: number; reasons: string[] }> {
  const response = await request(`${adminUrl}/readyz`);
  const body = (await response.body.json()) as { reasons: string[] };
  return { status: response.statusCode, reasons: body.reasons };
}

/** Starts a request whose answer waits for Kafka; its rejection is handled even if never awaited. */
function inFlight(answer: Promise<GatewayAnswer>): Promise<GatewayAnswer> {
  answer.catch(() => undefined);
  return answer;
}

function expectShed(answer: GatewayAnswer): void {
  expect(answer.status).toBe(503);
  expect(answer.headers['content-type']).toBe('application/problem+json');
  expect(answer.code).toBe('SLUICE_OVERLOADED');
  expect(JSON.parse(answer.body)).toMatchObject({ reason: 'pending-events' });
  const retryAfter = Number(answer.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  // Between SLUICE_SHED_MIN_RETRY_AFTER_SECONDS and SLUICE_SHED_MAX_RETRY_AFTER_SECONDS (defaults).
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(30);
}

describe('admission: load shedding on a real gateway while Kafka stops acknowledging', () => {
  it('sheds bulk first and critical only beyond the limit, reports it on /metrics and /readyz, and writes every admitted event', async () => {
    const setup = await prepareGateway(
      [
        { producerId: 'critical-producer', priority: 'critical' },
        { producerId: 'normal-producer', priority: 'normal' },
        { producerId: 'bulk-producer', priority: 'bulk' },
      ],
      {
        SLUICE_SHED_MAX_PENDING_EVENTS: String(maxPendingEvents),
        // Only the pending-events signal may decide here: event-loop delay on a busy two-core
        // machine, or the heap, would make the outcome depend on the neighbours.
        SLUICE_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
        SLUICE_SHED_MAX_QUEUE_DELAY_MS: '0',
        SLUICE_SHED_MAX_HEAP_USED_BYTES: '0',
        // The steps below check each class's level; escalation and recovery holds are unit-tested.
        SLUICE_SHED_ESCALATE_AFTER_MS: '0',
        SLUICE_SHED_RECOVER_AFTER_MS: '0',
        SLUICE_SUSTAINED_OVERLOAD_MS: '200',
        SLUICE_OVERLOAD_RECOVERY_MS: '200',
        // Admitted requests wait for Kafka for up to a minute, so they stay pending (and are not
        // expired) while the test builds up the backlog step by step.
        SLUICE_PRODUCE_TIMEOUT_MS: '60000',
      },
    );
    const gateway = await spawnGateway(setup);
    const keys = {
      critical: setup.keys['critical-producer']!,
      normal: setup.keys['normal-producer']!,
      bulk: setup.keys['bulk-producer']!,
    };
    const pendingEvents = async () =>
      metricValue(await scrapeMetrics(gateway.adminUrl), 'sluice_producer_pending_events');
    const untilPending = (events: number) =>
      waitFor(`${events} events pending`, async () =>
        (await pendingEvents()) === events ? true : undefined,
      );

    // Kafka works: the producer has its connections and metadata (readiness waits for the
    // producers' warm-up, which runs beside the first requests).
    expect((await postEvent(gateway.url, keys.normal)).status).toBe(202);
    await waitFor('readiness', async () =>
      (await readiness(gateway.adminUrl)).status === 200 ? true : undefined,
    );

    // Kafka stops acknowledging: the events topic is deleted under the running gateway (the
    // broker does not auto-create topics). The idempotent producer retries the send until the
    // topic is back, so admitted events stay pending, exactly as when a partition has no leader.
    const admin = await connectedAdmin();
    const topicConfig = {
      topic: setup.eventsTopic,
      numPartitions: 3,
      replicationFactor: 1,
      configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
    };
    await admin.deleteTopics({ topics: [setup.eventsTopic] });
    await waitFor('the topic to disappear', async () =>
      (await admin.listTopics()).includes(setup.eventsTopic) ? undefined : true,
    );

    // 11 of 20 pending (55 %): above bulk's 50 %, below normal's 80 %.
    const admitted = [inFlight(postBatch(gateway.url, keys.normal, 11))];
    await untilPending(11);
    const bulkShed = await postEvent(gateway.url, keys.bulk);
    expectShed(bulkShed);
    admitted.push(inFlight(postEvent(gateway.url, keys.normal)));
    await untilPending(12);

    // 20 of 20 (100 %): normal is shed too; critical is still admitted at the limit itself…
    admitted.push(inFlight(postBatch(gateway.url, keys.critical, 8)));
    await untilPending(20);
    expectShed(await postEvent(gateway.url, keys.normal));
    expectShed(await postEvent(gateway.url, keys.bulk));
    admitted.push(inFlight(postEvent(gateway.url, keys.critical)));
    await untilPending(21);
    // …and shed only beyond it.
    expectShed(await postEvent(gateway.url, keys.critical));

    const shedding = await scrapeMetrics(gateway.adminUrl);
    const shed = (priority: string) =>
      metricValue(shedding, 'sluice_load_shed_total', { priority, reason: 'pending-events' });
    expect({ bulk: shed('bulk'), normal: shed('normal'), critical: shed('critical') }).toEqual({
      bulk: 2,
      normal: 1,
      critical: 1,
    });
    expect(metricValue(shedding, 'sluice_load_shed_total', { reason: 'event-loop-delay' })).toBe(0);
    const admittedCount = (priority: string) =>
      metricValue(shedding, 'sluice_admission_admitted_total', { priority });
    expect({
      bulk: admittedCount('bulk'),
      normal: admittedCount('normal'),
      critical: admittedCount('critical'),
    }).toEqual({ bulk: 0, normal: 2 + 1, critical: 2 });
    for (const priority of ['critical', 'normal', 'bulk']) {
      expect(metricValue(shedding, 'sluice_load_shedding_active', { priority })).toBe(1);
    }
    expect(metricValue(shedding, 'sluice_rate_limited_total')).toBe(0);

    // Shedding normal traffic for longer than SLUICE_SUSTAINED_OVERLOAD_MS fails readiness.
    const notReady = await waitFor('readiness to report sustained overload', async () => {
      const ready = await readiness(gateway.adminUrl);
      return ready.status === 503 ? ready : undefined;
    });
    expect(notReady.reasons).toContain('sustained overload');

    // Kafka is back: every admitted request is answered 202, and the gateway recovers.
    await createTopicsWithLeaders(admin, [topicConfig]);
    const answers = await Promise.all(admitted);
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202]);
    await untilPending(0);
    await waitFor('readiness to recover', async () =>
      (await readiness(gateway.adminUrl)).status === 200 ? true : undefined,
    );
    expect((await postEvent(gateway.url, keys.bulk)).status).toBe(202);

    // Every event admitted during the overload is in Kafka, by id, once.
    const ids = answers.flatMap((answer) => {
      const body = JSON.parse(answer.body) as { id?: string; results?: Array<{ id: string }> };
      return body.results ? body.results.map((result) => result.id) : [body.id!];
    });
    expect(ids).toHaveLength(21);
    const records = await readTopic(setup.eventsTopic, 22);
    const written = records.map((record) => record.headers.ce_id);
    expect(written).toHaveLength(22);
    expect(new Set(written).size).toBe(22);
    for (const id of ids) expect(written).toContain(id);
  }, 150_000);
});
