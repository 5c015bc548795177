import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { compileSubscriptionMatcher } from '../../common/subscriptions/subscription-matcher.js';
import type { Subscription, SubscriptionView } from '../../common/subscriptions/subscription.js';
import { encodeEvent, loadSchemaCatalog } from '../../schemas/index.js';
import type { DedupClaim, DedupStore, DeliveryIdentity } from './dedup-store.js';
import { DeliveryLimiters } from './delivery-limiter.js';
import { createDeliveryMetrics } from './delivery-metrics.js';
import type { ConsumedRecord, OutgoingRecord } from '../../common/kafka/index.js';
import { buildReplayRecord, buildRetryRecord } from '../../common/retry/retry-records.js';
import { createDeliveryService } from './delivery-service.js';
import type { DeliverySettings } from './job-delivery.js';
import { createEndpointBreakers } from './endpoint-breakers.js';
import type { KeyQueue } from './key-queue.js';
import { KeySequencer } from './key-sequencer.js';
import { createRetryRouter, type RetrySettings } from './retry-router.js';
import type { AttemptResult, WebhookRequest } from './webhook-sender.js';
import type { AttemptRecord } from '../../common/attempts/attempt-record.js';
import { sampleSubscription } from '../../test/support/sample-subscription.js';

const catalog = loadSchemaCatalog();
const nowMs = 1_700_000_000_000;
const schema = catalog.latest('order.created')!;
const fixture: unknown = JSON.parse(
  readFileSync(join(catalog.dir!, 'fixtures', 'order.created', `v${schema.version}.json`), 'utf8'),
);
const encoded = encodeEvent(schema, fixture);
if (!encoded.ok) throw new Error(encoded.message);

const eventRecord: ConsumedRecord = {
  topic: 'sluice.events',
  partition: 0,
  offset: '5',
  key: Buffer.from('order-1'),
  value: encoded.value,
  headers: {
    ce_id: 'evt_1',
    ce_type: 'order.created',
    ce_time: '2024-11-05T14:32:07Z',
    sluice_producer: 'shop',
  },
  timestampMs: nowMs,
};

const settings: DeliverySettings & RetrySettings = {
  retryDelaysMs: [5000, 30_000],
  retryTopicPrefix: 'sluice.retry.',
  dlqTopic: 'sluice.dlq',
  dedupFailureMode: 'open',
  maxDeliveryAgeMs: 3_600_000,
  maxSlotWaitMs: 60_000,
  busyRecheckMs: 1,
};

function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return sampleSubscription({
    id: 'sub_1',
    url: 'https://example.com/hooks',
    maxConcurrency: 5,
    createdAt: '',
    updatedAt: '',
    ...overrides,
  });
}

function view(subscriptions: Subscription[]): SubscriptionView {
  return {
    matching: (type, producerId, tenant) =>
      subscriptions.filter((s) => s.enabled && compileSubscriptionMatcher(s)(type, producerId, tenant)),
    get: (id) => subscriptions.find((s) => s.id === id),
    all: () => subscriptions,
  };
}

interface Setup {
  answer?: (request: WebhookRequest) => AttemptResult;
  claim?: DedupClaim['kind'];
  /** Per delivery, over `claim`: what Redis answers to this claim. */
  claimFor?: (identity: DeliveryIdentity) => DedupClaim['kind'];
  subscriptions?: Subscription[];
  failureMode?: 'open' | 'closed';
  breakerMinAttempts?: number;
  keyQueueDown?: boolean;
  /** Redis does not take the completion marker. */
  markerFails?: boolean;
}

/** The Redis key queue's rules in memory (its Lua is tested against Redis in test/delivery). */
function memoryKeyQueue(down: boolean): KeyQueue & { queues: Map<string, string[]> } {
  const queues = new Map<string, string[]>();
  const names = (identity: DeliveryIdentity, key: string) => ({
    queue: `${identity.subscriptionId}:${key}`,
    member: `${identity.producerId}:${identity.eventId}:${identity.replayId ?? ''}`,
  });
  return {
    queues,
    async enter(identity, key) {
      if (down) return 'unavailable';
      const { queue, member } = names(identity, key);
      const members = queues.get(queue) ?? [];
      if (!members.includes(member)) members.push(member);
      queues.set(queue, members);
      return members[0] === member ? 'head' : 'behind';
    },
    async leave(identity, key) {
      const { queue, member } = names(identity, key);
      queues.set(
        queue,
        (queues.get(queue) ?? []).filter((m) => m !== member),
      );
    },
  };
}

function setup(options: Setup = {}) {
  const sent: WebhookRequest[] = [];
  const written: OutgoingRecord[] = [];
  const dedupCalls: string[] = [];
  const claimed: DeliveryIdentity[] = [];
  const gone: string[] = [];
  const health: string[] = [];
  const attemptRecords: AttemptRecord[] = [];
  const keyQueue = memoryKeyQueue(options.keyQueueDown ?? false);
  const registry = new Registry();
  const metrics = createDeliveryMetrics(registry);
  const dedup: DedupStore = {
    claim: async (identity) => {
      dedupCalls.push('claim');
      claimed.push(identity);
      const kind = options.claimFor?.(identity) ?? options.claim ?? 'acquired';
      if (kind === 'acquired') return { kind, token: 't' };
      if (kind === 'unavailable') return { kind, error: new Error('down') };
      return { kind } as DedupClaim;
    },
    complete: async () => {
      dedupCalls.push('complete');
      return options.markerFails !== true;
    },
    release: async () => {
      dedupCalls.push('release');
    },
  };
  const service = createDeliveryService({
    view: view(options.subscriptions ?? [subscription()]),
    catalog,
    sender: {
      send: async (request) => {
        sent.push(request);
        return options.answer?.(request) ?? { status: 200, retryAfter: undefined, durationMs: 1 };
      },
    },
    dedup,
    breakers: createEndpointBreakers(
      {
        errorThresholdPercentage: 50,
        volumeThreshold: options.breakerMinAttempts ?? 100,
        rollingWindowMs: 10_000,
        resetTimeoutMs: 60_000,
      },
      () => undefined,
    ),
    limiters: new DeliveryLimiters(),
    sequencer: new KeySequencer(),
    keyQueue,
    router: createRetryRouter({
      settings,
      writer: { writeDurably: async (records) => void written.push(...records) },
      metrics,
      logger: createLogger('test', 'silent'),
      nowMs: () => nowMs,
      random: () => 0.5,
    }),
    attempts: { writer: { record: (record) => void attemptRecords.push(record) }, responseBodyMaxBytes: 0 },
    metrics,
    logger: createLogger('test', 'silent'),
    onGone: (id) => void gone.push(id),
    health: {
      succeeded: (id) => void health.push(`ok ${id}`),
      failed: (s, facts) =>
        void health.push(`${facts.deadLettered ? 'dead' : 'fail'} ${s.id} ${facts.lastStatus ?? '-'}`),
    },
    settings: { ...settings, dedupFailureMode: options.failureMode ?? 'open' },
    nowMs: () => nowMs,
  });
  const signals = { wait: new AbortController().signal, send: new AbortController().signal };
  const count = async (name: string, labels: Record<string, string> = {}) => {
    const metric = await registry.getSingleMetric(name)!.get();
    return metric.values
      .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
      .reduce((sum, v) => sum + v.value, 0);
  };
  return {
    service,
    sent,
    written,
    dedupCalls,
    claimed,
    gone,
    health,
    signals,
    count,
    keyQueue,
    attemptRecords,
  };
}

const serverError = (): AttemptResult => ({ status: 500, retryAfter: undefined, durationMs: 1 });

function retryRecordFrom(record: OutgoingRecord): ConsumedRecord {
  return { ...eventRecord, topic: record.topic, headers: record.headers };
}

describe('delivery service', () => {
  it('delivers a decoded, signed payload and records the completion marker', async () => {
    const { service, sent, dedupCalls, signals, count } = setup();
    await service.handleEventRecord(eventRecord, signals);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body as string)).toMatchObject({
      type: 'order.created',
      timestamp: '2024-11-05T14:32:07Z',
      data: fixture as object,
    });
    expect(sent[0]!.headers['webhook-id']).toBe('evt_1');
    expect(dedupCalls).toEqual(['claim', 'complete']);
    expect(await count('sluice_deliveries_total', { outcome: 'delivered' })).toBe(1);
    expect(await count('sluice_dedup_marker_failures_total')).toBe(0);
  });

  it('counts a completion marker Redis did not take, and neither releases the lease nor sends again', async () => {
    const { service, sent, dedupCalls, signals, count } = setup({ markerFails: true });
    await service.handleEventRecord(eventRecord, signals);
    expect(sent).toHaveLength(1);
    expect(dedupCalls).toEqual(['claim', 'complete']);
    expect(await count('sluice_dedup_marker_failures_total')).toBe(1);
    expect(await count('sluice_deliveries_total', { outcome: 'delivered' })).toBe(1);
  });

  it('does not send when a completion marker exists, and counts a dedup hit', async () => {
    const { service, sent, signals, count } = setup({ claim: 'done' });
    await service.handleEventRecord(eventRecord, signals);
    expect(sent).toHaveLength(0);
    expect(await count('sluice_dedup_hits_total')).toBe(1);
  });

  it('takes the lease before a slot: a delivery waiting on another worker’s lease holds none', async () => {
    let busyAnswers = 3;
    const { service, sent, signals } = setup({
      subscriptions: [subscription({ maxConcurrency: 1 })],
      // evt_1's lease is held elsewhere for three checks; evt_2's is free.
      claimFor: (identity) => (identity.eventId === 'evt_1' && busyAnswers-- > 0 ? 'busy' : 'acquired'),
    });
    const second: ConsumedRecord = {
      ...eventRecord,
      offset: '6',
      headers: { ...eventRecord.headers, ce_id: 'evt_2' },
    };
    await Promise.all([
      service.handleEventRecord(eventRecord, signals),
      service.handleEventRecord(second, signals),
    ]);
    // With the slot taken first, evt_1 would hold the only slot while it waited, and go first.
    expect(sent.map((request) => request.headers['webhook-id'])).toEqual(['evt_2', 'evt_1']);
  });

  it('writes a failed first attempt to the first tier with attempt 2 and its due time, releasing the lease', async () => {
    const { service, written, dedupCalls, signals } = setup({ answer: serverError });
    await service.handleEventRecord(eventRecord, signals);
    expect(written).toHaveLength(1);
    expect(written[0]!.topic).toBe('sluice.retry.5s');
    expect(written[0]!.headers).toMatchObject({
      sluice_subscription_id: 'sub_1',
      sluice_attempt: '2',
      sluice_due_at_ms: String(nowMs + 5000),
      sluice_last_status: '500',
      sluice_origin: 'sluice.events/0/5',
      ce_id: 'evt_1',
    });
    expect(dedupCalls).toEqual(['claim', 'release']);
  });

  it('resolves an event its payload filter turns away at once: no lease, no attempt, no retry', async () => {
    // The fixture's totalMinor is 6664.
    const picky = subscription({ id: 'sub_picky', filter: { 'data.totalMinor': { $gt: 10_000 } } });
    const keen = subscription({
      id: 'sub_keen',
      filter: { 'data.totalMinor': { $gt: 500 }, producer: 'shop' },
    });
    const { service, sent, written, claimed, signals, count, attemptRecords } = setup({
      subscriptions: [picky, keen],
    });
    await service.handleEventRecord(eventRecord, signals);
    expect(attemptRecords.map((r) => [r.subscriptionId, r.outcome, r.statusCode, r.errorClass])).toEqual([
      ['sub_picky', 'filtered', null, null],
      ['sub_keen', 'delivered', 200, null],
    ]);
    expect(sent.map((request) => request.url)).toHaveLength(1);
    expect(claimed.map((identity) => identity.subscriptionId)).toEqual(['sub_keen']);
    expect(written).toEqual([]);
    expect(
      await count('sluice_deliveries_total', { subscription_id: 'sub_picky', outcome: 'filtered' }),
    ).toBe(1);
    expect(
      await count('sluice_deliveries_total', { subscription_id: 'sub_keen', outcome: 'delivered' }),
    ).toBe(1);
    expect(await count('sluice_deliveries_total', { subscription_id: 'sub_keen', outcome: 'filtered' })).toBe(
      0,
    );
  });

  it('evaluates the filter again on a retry tier: one the subscription no longer wants is dropped as filtered', async () => {
    const first = setup({ answer: serverError });
    await first.service.handleEventRecord(eventRecord, first.signals);
    expect(first.written[0]!.topic).toBe('sluice.retry.5s');
    const narrowed = subscription({ filter: { 'data.currency': { $in: ['EUR', 'GBP'] } } });
    const second = setup({ answer: serverError, subscriptions: [narrowed] });
    await second.service.handleRetryRecord(retryRecordFrom(first.written[0]!), second.signals);
    expect(second.sent).toEqual([]);
    expect(second.written).toEqual([]);
    expect(await second.count('sluice_deliveries_total', { outcome: 'filtered' })).toBe(1);
  });

  it('follows a subscription’s own retry schedule and attempt count, not the global one', async () => {
    const own = subscription({ retry: { delaysMs: [30_000], maxAttempts: undefined } });
    const first = setup({ answer: serverError, subscriptions: [own] });
    await first.service.handleEventRecord(eventRecord, first.signals);
    // The global schedule would start with 5s.
    expect(first.written[0]!.topic).toBe('sluice.retry.30s');
    expect(first.written[0]!.headers.sluice_due_at_ms).toBe(String(nowMs + 30_000));
    const second = setup({ answer: serverError, subscriptions: [own] });
    await second.service.handleRetryRecord(retryRecordFrom(first.written[0]!), second.signals);
    expect(second.written[0]!.topic).toBe('sluice.dlq');
    expect(second.written[0]!.headers).toMatchObject({
      sluice_dlq_reason: 'retries-exhausted',
      sluice_attempts: '2',
    });

    const once = setup({
      answer: serverError,
      subscriptions: [subscription({ retry: { delaysMs: undefined, maxAttempts: 1 } })],
    });
    await once.service.handleEventRecord(eventRecord, once.signals);
    expect(once.sent).toHaveLength(1);
    expect(once.written.map((record) => record.topic)).toEqual(['sluice.dlq']);
  });

  it('sends a subscription’s timeout and static headers with each attempt, its own headers winning', async () => {
    const withExtras = subscription({
      timeoutMs: 1500,
      headers: [
        { name: 'authorization', value: 'Bearer s3cret', secret: true },
        { name: 'x-tenant', value: 'acme', secret: false },
      ],
    });
    const { service, sent, signals } = setup({ subscriptions: [withExtras] });
    await service.handleEventRecord(eventRecord, signals);
    expect(sent[0]!.timeoutMs).toBe(1500);
    expect(sent[0]!.headers).toMatchObject({
      authorization: 'Bearer s3cret',
      'x-tenant': 'acme',
      'content-type': 'application/json',
      'webhook-id': 'evt_1',
    });
    const plain = setup();
    await plain.service.handleEventRecord(eventRecord, plain.signals);
    expect(plain.sent[0]!.timeoutMs).toBeUndefined();
    expect(plain.sent[0]!.headers.authorization).toBeUndefined();
  });

  it('dead-letters once the schedule is spent', async () => {
    const first = setup({ answer: serverError });
    await first.service.handleEventRecord(eventRecord, first.signals);
    const second = setup({ answer: serverError });
    await second.service.handleRetryRecord(retryRecordFrom(first.written[0]!), second.signals);
    expect(second.written[0]!.topic).toBe('sluice.retry.30s');
    const third = setup({ answer: serverError });
    await third.service.handleRetryRecord(retryRecordFrom(second.written[0]!), third.signals);
    expect(third.written[0]!.topic).toBe('sluice.dlq');
    expect(third.written[0]!.headers).toMatchObject({
      sluice_dlq_reason: 'retries-exhausted',
      sluice_attempts: '3',
      sluice_last_status: '500',
    });
    expect(third.written[0]!.headers.sluice_attempt).toBeUndefined();
  });

  it('parks without spending an attempt while the breaker is open, and dead-letters parked deliveries past their age', async () => {
    const { service, sent, written, signals, count } = setup({ answer: serverError, breakerMinAttempts: 1 });
    await service.handleEventRecord(eventRecord, signals);
    await service.handleEventRecord({ ...eventRecord, offset: '6' }, signals);
    expect(sent).toHaveLength(1);
    expect(written[1]!.topic).toBe('sluice.retry.5s');
    expect(written[1]!.headers.sluice_attempt).toBe('1');
    expect(await count('sluice_delivery_parked_total', { reason: 'breaker-open' })).toBe(1);
    // From a tier, a parked delivery moves one tier on; once too old it is dead-lettered.
    await service.handleRetryRecord(retryRecordFrom(written[1]!), signals);
    expect(written[2]!.topic).toBe('sluice.retry.30s');
    expect(written[2]!.headers.sluice_attempt).toBe('1');
    const old = retryRecordFrom(
      buildRetryRecord('sluice.retry.30s', eventRecord, {
        subscriptionId: 'sub_1',
        attempt: 1,
        dueAtMs: nowMs,
        firstAttemptAtMs: nowMs - settings.maxDeliveryAgeMs - 1,
        origin: 'x',
        lastStatus: undefined,
        lastError: undefined,
      }),
    );
    await service.handleRetryRecord(old, signals);
    expect(written[3]!.topic).toBe('sluice.dlq');
    expect(written[3]!.headers.sluice_dlq_reason).toBe('expired');
  });

  it('disables a subscription that answered 410 and stops delivering to it', async () => {
    const { service, sent, written, gone, signals } = setup({
      answer: () => ({ status: 410, retryAfter: undefined, durationMs: 1 }),
    });
    await service.handleEventRecord(eventRecord, signals);
    await service.handleEventRecord({ ...eventRecord, offset: '6' }, signals);
    expect(gone).toEqual(['sub_1']);
    expect(sent).toHaveLength(1);
    expect(written).toHaveLength(0);
  });

  it('drops a retry whose subscription was deleted', async () => {
    const first = setup({ answer: serverError });
    await first.service.handleEventRecord(eventRecord, first.signals);
    const later = setup({ subscriptions: [] });
    await later.service.handleRetryRecord(retryRecordFrom(first.written[0]!), later.signals);
    expect(later.sent).toHaveLength(0);
    expect(later.written).toHaveLength(0);
    expect(await later.count('sluice_deliveries_total', { outcome: 'dropped' })).toBe(1);
  });

  it('dead-letters a retry whose subscription is disabled, so it can be replayed once enabled', async () => {
    const first = setup({ answer: serverError });
    await first.service.handleEventRecord(eventRecord, first.signals);
    const disabled = subscription({ enabled: false, disabledReason: 'failing' });
    const later = setup({ subscriptions: [disabled] });
    await later.service.handleRetryRecord(retryRecordFrom(first.written[0]!), later.signals);
    expect(later.sent).toHaveLength(0);
    expect(later.written).toHaveLength(1);
    expect(later.written[0]!.topic).toBe('sluice.dlq');
    expect(later.written[0]!.headers).toMatchObject({
      sluice_dlq_reason: 'subscription-disabled',
      sluice_subscription_id: 'sub_1',
      sluice_attempts: '1',
      sluice_last_status: '500',
      ce_id: 'evt_1',
    });
    expect(await later.count('sluice_dead_letters_total', { reason: 'subscription-disabled' })).toBe(1);
  });

  it('tells endpoint health of every success, failure and dead letter', async () => {
    const failing = setup({ answer: serverError });
    await failing.service.handleEventRecord(eventRecord, failing.signals);
    const last = retryRecordFrom(failing.written[0]!);
    await failing.service.handleRetryRecord(retryRecordFrom(failing.written[0]!), failing.signals);
    await failing.service.handleRetryRecord(retryRecordFrom(failing.written[1]!), failing.signals);
    expect(failing.written[2]!.topic).toBe('sluice.dlq');
    expect(failing.health).toEqual(['fail sub_1 500', 'fail sub_1 500', 'dead sub_1 500']);
    const ok = setup();
    await ok.service.handleRetryRecord(last, ok.signals);
    expect(ok.health).toEqual(['ok sub_1']);
  });

  it('dead-letters a poison record without asking any subscription', async () => {
    const { service, sent, written, signals } = setup();
    await service.handleEventRecord({ ...eventRecord, value: Buffer.from([0, 0, 0, 0, 1, 0xff]) }, signals);
    expect(sent).toHaveLength(0);
    expect(written[0]!.topic).toBe('sluice.dlq');
    expect(written[0]!.headers.sluice_dlq_reason).toBe('invalid-avro');
  });

  it('with Redis down, delivers when fail-open and parks when fail-closed', async () => {
    const open = setup({ claim: 'unavailable' });
    await open.service.handleEventRecord(eventRecord, open.signals);
    expect(open.sent).toHaveLength(1);
    expect(await open.count('sluice_dedup_unavailable_total')).toBe(1);
    const closed = setup({ claim: 'unavailable', failureMode: 'closed' });
    await closed.service.handleEventRecord(eventRecord, closed.signals);
    expect(closed.sent).toHaveLength(0);
    expect(closed.written[0]!.headers).toMatchObject({ sluice_attempt: '1' });
    expect(await closed.count('sluice_delivery_parked_total', { reason: 'dedup-unavailable' })).toBe(1);
  });

  it('delivers a replayed event under a dedup identity of its own, with the event id as webhook-id', async () => {
    const { service, sent, claimed, written, signals } = setup({ answer: serverError });
    await service.handleEventRecord(eventRecord, signals);
    const replayed = buildReplayRecord('sluice.retry.5s', eventRecord, {
      subscriptionId: 'sub_1',
      replayId: 'rpl_1',
      nowMs,
    });
    await service.handleRetryRecord(retryRecordFrom(replayed), signals);
    expect(claimed.map((identity) => identity.replayId)).toEqual([undefined, 'rpl_1']);
    expect(claimed[1]).toMatchObject({ subscriptionId: 'sub_1', producerId: 'shop', eventId: 'evt_1' });
    expect(sent.map((request) => request.headers['webhook-id'])).toEqual(['evt_1', 'evt_1']);
    // A failed replayed attempt keeps its replay id in the next tier.
    expect(written[1]!.headers).toMatchObject({ sluice_replay_id: 'rpl_1', sluice_attempt: '2' });
  });

  it('with ordering: key, holds a key’s later events behind one that failed, through the tiers', async () => {
    let failFirst = true;
    const { service, sent, written, signals, count, keyQueue } = setup({
      subscriptions: [subscription({ ordering: 'key' })],
      answer: (request) =>
        failFirst && request.headers['webhook-id'] === 'evt_1'
          ? serverError()
          : { status: 200, retryAfter: undefined, durationMs: 1 },
    });
    const second = { ...eventRecord, offset: '6', headers: { ...eventRecord.headers, ce_id: 'evt_2' } };
    const otherKey = {
      ...second,
      offset: '7',
      key: Buffer.from('order-2'),
      headers: { ...second.headers, ce_id: 'evt_3' },
    };
    await service.handleEventRecord(eventRecord, signals);
    await service.handleEventRecord(second, signals);
    await service.handleEventRecord(otherKey, signals);
    // evt_1 failed and waits in the first tier; evt_2 is parked behind it; another key goes on.
    expect(sent.map((r) => r.headers['webhook-id'])).toEqual(['evt_1', 'evt_3']);
    expect(written.map((r) => [r.topic, r.headers.ce_id, r.headers.sluice_attempt])).toEqual([
      ['sluice.retry.5s', 'evt_1', '2'],
      ['sluice.retry.5s', 'evt_2', '1'],
    ]);
    expect(await count('sluice_delivery_parked_total', { reason: 'key-blocked' })).toBe(1);
    // Read from the tier in that order: evt_1 is delivered and leaves, so evt_2 goes next.
    failFirst = false;
    await service.handleRetryRecord(retryRecordFrom(written[0]!), signals);
    await service.handleRetryRecord(retryRecordFrom(written[1]!), signals);
    expect(sent.map((r) => r.headers['webhook-id'])).toEqual(['evt_1', 'evt_3', 'evt_1', 'evt_2']);
    expect(written).toHaveLength(2);
    expect([...keyQueue.queues.values()].flat()).toEqual([]);
  });

  it('with ordering: key, parks a key’s event again while the one before it is still unresolved', async () => {
    const { service, sent, written, signals } = setup({
      subscriptions: [subscription({ ordering: 'key' })],
      answer: serverError,
    });
    const second = { ...eventRecord, offset: '6', headers: { ...eventRecord.headers, ce_id: 'evt_2' } };
    await service.handleEventRecord(eventRecord, signals);
    await service.handleEventRecord(second, signals);
    await service.handleRetryRecord(retryRecordFrom(written[0]!), signals);
    await service.handleRetryRecord(retryRecordFrom(written[1]!), signals);
    expect(sent.map((r) => r.headers['webhook-id'])).toEqual(['evt_1', 'evt_1']);
    // Both moved to the next tier, still in order: evt_1 with an attempt spent, evt_2 without.
    expect(written.slice(2).map((r) => [r.topic, r.headers.ce_id, r.headers.sluice_attempt])).toEqual([
      ['sluice.retry.30s', 'evt_1', '3'],
      ['sluice.retry.30s', 'evt_2', '1'],
    ]);
  });

  it('with ordering: key and Redis down, delivers when fail-open and parks when fail-closed', async () => {
    const open = setup({ subscriptions: [subscription({ ordering: 'key' })], keyQueueDown: true });
    await open.service.handleEventRecord(eventRecord, open.signals);
    expect(open.sent).toHaveLength(1);
    // The key queue did not answer, the dedup claim did: only the key queue's counter moves.
    expect(await open.count('sluice_delivery_key_queue_unavailable_total')).toBe(1);
    expect(await open.count('sluice_dedup_unavailable_total')).toBe(0);
    const closed = setup({
      subscriptions: [subscription({ ordering: 'key' })],
      keyQueueDown: true,
      failureMode: 'closed',
    });
    await closed.service.handleEventRecord(eventRecord, closed.signals);
    expect(closed.sent).toHaveLength(0);
    expect(await closed.count('sluice_delivery_parked_total', { reason: 'key-queue-unavailable' })).toBe(1);
    expect(await closed.count('sluice_delivery_key_queue_unavailable_total')).toBe(1);
    expect(await closed.count('sluice_dedup_unavailable_total')).toBe(0);
  });

  it('with ordering: key and Redis down for both, counts the key queue and the dedup check once each', async () => {
    const { service, sent, signals, count } = setup({
      subscriptions: [subscription({ ordering: 'key' })],
      keyQueueDown: true,
      claim: 'unavailable',
    });
    await service.handleEventRecord(eventRecord, signals);
    expect(sent).toHaveLength(1);
    expect(await count('sluice_dedup_unavailable_total')).toBe(1);
    expect(await count('sluice_delivery_key_queue_unavailable_total')).toBe(1);
  });

  it('delivers an event naming a tenant (ce_tenantid) to that tenant’s and the global subscriptions only', async () => {
    const subscriptions = [
      subscription({ id: 'sub_acme', url: 'https://acme.example/hooks', tenant: 'acme' }),
      subscription({ id: 'sub_globex', url: 'https://globex.example/hooks', tenant: 'globex' }),
      subscription({ id: 'sub_all', url: 'https://ops.example/hooks' }),
    ];
    const { service, sent, signals } = setup({ subscriptions });
    await service.handleEventRecord(
      { ...eventRecord, headers: { ...eventRecord.headers, ce_tenantid: 'acme' } },
      signals,
    );
    expect(sent.map((request) => request.url).sort()).toEqual([
      'https://acme.example/hooks',
      'https://ops.example/hooks',
    ]);
    sent.length = 0;
    await service.handleEventRecord({ ...eventRecord, offset: '6' }, signals);
    expect(sent.map((request) => request.url)).toEqual(['https://ops.example/hooks']);
  });

  it('drops a retry for a subscription that now belongs to another tenant, without an attempt', async () => {
    const first = setup({ answer: serverError, subscriptions: [subscription({ tenant: 'acme' })] });
    const acmeEvent = { ...eventRecord, headers: { ...eventRecord.headers, ce_tenantid: 'acme' } };
    await first.service.handleEventRecord(acmeEvent, first.signals);
    expect(first.written[0]!.headers.ce_tenantid).toBe('acme');
    const moved = setup({ subscriptions: [subscription({ tenant: 'globex' })] });
    await moved.service.handleRetryRecord(retryRecordFrom(first.written[0]!), moved.signals);
    expect(moved.sent).toHaveLength(0);
    expect(moved.written).toHaveLength(0);
    expect(await moved.count('sluice_deliveries_total', { outcome: 'dropped' })).toBe(1);
    // The same retry for a subscription still of that tenant is attempted.
    const kept = setup({ subscriptions: [subscription({ tenant: 'acme' })] });
    await kept.service.handleRetryRecord(retryRecordFrom(first.written[0]!), kept.signals);
    expect(kept.sent).toHaveLength(1);
  });
});
