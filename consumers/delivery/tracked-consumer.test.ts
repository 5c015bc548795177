import { EventEmitter } from 'node:events';
import type { Consumer, EachBatchPayload, KafkaMessage } from '../../common/kafka/index.js';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { createDeliveryMetrics } from './delivery-metrics.js';
import type { ConsumedRecord } from '../../common/kafka/index.js';
import { createTrackedConsumer, type TrackedConsumerOptions } from './tracked-consumer.js';

const events = { GROUP_JOIN: 'group_join', REBALANCING: 'rebalancing', CRASH: 'crash', STOP: 'stop' };

/** Just enough of a kafkajs consumer: the test calls eachBatch itself and reads what was paused and committed. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const paused = new Set<string>();
  const commits: Array<Array<{ topic: string; partition: number; offset: string }>> = [];
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const consumer = {
    events,
    on: (event: string, listener: (event: unknown) => void) => emitter.on(event, listener),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (config: { eachBatch: (payload: EachBatchPayload) => Promise<void> }) => {
      eachBatch = config.eachBatch;
    },
    pause: (list: Array<{ topic: string; partitions?: number[] }>) => {
      for (const { topic, partitions } of list)
        for (const p of partitions ?? [0, 1, 2]) paused.add(`${topic}/${p}`);
    },
    resume: (list: Array<{ topic: string; partitions?: number[] }>) => {
      for (const { topic, partitions } of list)
        for (const p of partitions ?? [0, 1, 2]) paused.delete(`${topic}/${p}`);
    },
    commitOffsets: async (offsets: Array<{ topic: string; partition: number; offset: string }>) => {
      commits.push(offsets);
    },
    disconnect: async () => undefined,
  };
  return {
    consumer: consumer as unknown as Consumer,
    paused,
    commits,
    emit: (event: string, payload: unknown) => emitter.emit(event, { payload }),
    /** Feeds a batch; returns the offsets kafkajs would consider resolved (its next fetch position). */
    async batch(topic: string, partition: number, offsets: number[], headers: Record<string, string> = {}) {
      const resolved: string[] = [];
      const messages = offsets.map(
        (offset) =>
          ({
            offset: String(offset),
            key: null,
            value: Buffer.from('v'),
            headers,
            timestamp: '0',
            attributes: 0,
          }) as KafkaMessage,
      );
      await eachBatch!({
        batch: { topic, partition, highWatermark: String((offsets.at(-1) ?? 0) + 1), messages },
        resolveOffset: (offset: string) => resolved.push(offset),
        heartbeat: async () => undefined,
        isRunning: () => true,
        isStale: () => false,
      } as unknown as EachBatchPayload);
      return resolved;
    },
  };
}

/** A handler whose records finish when the test says so. */
function controlledHandler() {
  const pending = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const started: string[] = [];
  const handle = (record: ConsumedRecord) => {
    started.push(`${record.partition}/${record.offset}`);
    return new Promise<void>((resolve, reject) =>
      pending.set(`${record.partition}/${record.offset}`, { resolve, reject }),
    );
  };
  return {
    handle,
    started,
    finish: async (...keys: string[]) => {
      for (const key of keys) pending.get(key)!.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

function setup(overrides: Partial<TrackedConsumerOptions> = {}) {
  const fake = fakeConsumer();
  const handler = controlledHandler();
  const fatal: Error[] = [];
  const tracked = createTrackedConsumer({
    name: 'events',
    consumer: fake.consumer,
    topics: ['t'],
    maxInFlightPerPartition: 100,
    budget: { inFlight: 0, max: 1000 },
    commitIntervalMs: 60_000,
    heartbeatEveryMs: 1000,
    handle: handler.handle,
    onFatal: (error) => fatal.push(error),
    metrics: createDeliveryMetrics(new Registry()),
    logger: createLogger('test', 'silent'),
    ...overrides,
  });
  return { fake, handler, fatal, tracked };
}

const lastCommit = (commits: Array<Array<{ partition: number; offset: string }>>) => commits.at(-1);

describe('tracked consumer', () => {
  it('dispatches a batch without waiting, and commits only below the lowest unfinished record', async () => {
    const { fake, handler, tracked } = setup();
    await tracked.start();
    const resolved = await fake.batch('t', 0, [0, 1, 2, 3]);
    expect(resolved).toEqual(['0', '1', '2', '3']);
    expect(handler.started).toEqual(['0/0', '0/1', '0/2', '0/3']);
    await handler.finish('0/1', '0/3');
    await tracked.commit();
    expect(lastCommit(fake.commits)).toEqual([{ topic: 't', partition: 0, offset: '0' }]);
    await handler.finish('0/0');
    await tracked.commit();
    expect(lastCommit(fake.commits)).toEqual([{ topic: 't', partition: 0, offset: '2' }]);
    await handler.finish('0/2');
    await tracked.commit();
    expect(lastCommit(fake.commits)).toEqual([{ topic: 't', partition: 0, offset: '4' }]);
    const commitsSoFar = fake.commits.length;
    await tracked.commit();
    expect(fake.commits).toHaveLength(commitsSoFar);
  });

  it('pauses a partition over its in-flight bound, dispatches the rest of the batch as records resolve, and fetches again at half', async () => {
    const { fake, handler, tracked } = setup({ maxInFlightPerPartition: 4 });
    await tracked.start();
    // Every offset is resolved in kafkajs: the rest waits in memory, not to be fetched again.
    const resolved = await fake.batch('t', 1, [10, 11, 12, 13, 14, 15]);
    expect(resolved).toEqual(['10', '11', '12', '13', '15']);
    expect(handler.started).toEqual(['1/10', '1/11', '1/12', '1/13']);
    expect(fake.paused.has('t/1')).toBe(true);
    await handler.finish('1/10');
    expect(handler.started.slice(4)).toEqual(['1/14']);
    await handler.finish('1/11', '1/12');
    expect(handler.started.slice(4)).toEqual(['1/14', '1/15']);
    // The backlog is empty, but 3 of 4 places are taken: still paused.
    expect(fake.paused.has('t/1')).toBe(true);
    await handler.finish('1/13');
    expect(fake.paused.has('t/1')).toBe(false);
    await handler.finish('1/14', '1/15');
    await tracked.commit();
    expect(lastCommit(fake.commits)).toEqual([{ topic: 't', partition: 1, offset: '16' }]);
  });

  it('commits nothing past a backlog record before it is dispatched and resolved', async () => {
    const { fake, handler, tracked } = setup({ maxInFlightPerPartition: 2 });
    await tracked.start();
    await fake.batch('t', 0, [0, 1, 2, 3]);
    await handler.finish('0/0');
    await tracked.commit();
    expect(lastCommit(fake.commits)).toEqual([{ topic: 't', partition: 0, offset: '1' }]);
    expect(handler.started).toEqual(['0/0', '0/1', '0/2']);
    await handler.finish('0/1', '0/2');
    await tracked.commit();
    // 3 was dispatched when 1 resolved; it is still in flight.
    expect(lastCommit(fake.commits)).toEqual([{ topic: 't', partition: 0, offset: '3' }]);
  });

  it('gives a place freed on one partition to another partition waiting on the process budget', async () => {
    const { fake, handler, tracked } = setup({ budget: { inFlight: 0, max: 2 } });
    await tracked.start();
    await fake.batch('t', 0, [0, 1]);
    expect(await fake.batch('t', 1, [0, 1])).toEqual(['1']);
    expect(handler.started).toEqual(['0/0', '0/1']);
    await handler.finish('0/0');
    expect(handler.started).toEqual(['0/0', '0/1', '1/0']);
    await handler.finish('0/1');
    expect(handler.started).toEqual(['0/0', '0/1', '1/0', '1/1']);
  });

  it('drops the backlog of a revoked partition: its records are left to the next owner', async () => {
    const { fake, handler, tracked } = setup({ maxInFlightPerPartition: 1 });
    await tracked.start();
    await fake.batch('t', 0, [0, 1, 2]);
    await fake.batch('t', 1, [0]);
    fake.emit(events.GROUP_JOIN, { groupId: 'g', memberAssignment: { t: [1] } });
    await handler.finish('0/0');
    expect(handler.started).toEqual(['0/0', '1/0']);
  });

  it('on a retry tier, leaves the rest of the batch unresolved to be fetched again, and resumes at half', async () => {
    const { fake, handler, tracked } = setup({ maxInFlightPerPartition: 4, dueAtMs: () => undefined });
    await tracked.start();
    const resolved = await fake.batch('t', 1, [10, 11, 12, 13, 14, 15]);
    expect(resolved).toEqual(['10', '11', '12', '13']);
    expect(fake.paused.has('t/1')).toBe(true);
    await handler.finish('1/10');
    expect(fake.paused.has('t/1')).toBe(true);
    await handler.finish('1/11');
    expect(fake.paused.has('t/1')).toBe(false);
    // kafkajs fetches again from 14, the first unresolved record.
    expect(await fake.batch('t', 1, [14, 15])).toEqual(['14', '15']);
    expect(handler.started.slice(4)).toEqual(['1/14', '1/15']);
  });

  it('lets the event loop in while it dispatches a large batch', async () => {
    const { fake, handler, tracked } = setup({ maxInFlightPerPartition: 1000 });
    await tracked.start();
    let startedWhenTheLoopRan: number | undefined;
    setImmediate(() => (startedWhenTheLoopRan = handler.started.length));
    await fake.batch(
      't',
      0,
      Array.from({ length: 450 }, (_, offset) => offset),
    );
    expect(handler.started).toHaveLength(450);
    // The loop had a turn part way through, not only once the whole batch was out.
    expect(startedWhenTheLoopRan).toBeGreaterThan(0);
    expect(startedWhenTheLoopRan).toBeLessThan(450);
  });

  it('skips records re-fetched after a rebalance that kept the partition, since they were dispatched', async () => {
    const { fake, handler, tracked } = setup();
    await tracked.start();
    await fake.batch('t', 0, [0, 1, 2]);
    fake.emit(events.GROUP_JOIN, { groupId: 'g', memberAssignment: { t: [0] } });
    expect(await fake.batch('t', 0, [0, 1, 2, 3])).toEqual(['0', '1', '2', '3']);
    expect(handler.started).toEqual(['0/0', '0/1', '0/2', '0/3']);
  });

  it('drops revoked partitions: their waiting work is aborted and never committed by this member', async () => {
    const aborted: string[] = [];
    const { fake, tracked } = setup({
      handle: (record, signals) =>
        new Promise<void>((_, reject) =>
          signals.wait.addEventListener('abort', () => {
            aborted.push(`${record.partition}/${record.offset}`);
            reject(new Error('revoked'));
          }),
        ),
    });
    await tracked.start();
    await fake.batch('t', 0, [0]);
    await fake.batch('t', 1, [0]);
    fake.emit(events.GROUP_JOIN, { groupId: 'g', memberAssignment: { t: [1] } });
    expect(aborted).toEqual(['0/0']);
    expect(tracked.inFlight()).toBe(1);
    // A later reassignment starts afresh: the record is dispatched again.
    fake.emit(events.GROUP_JOIN, { groupId: 'g', memberAssignment: { t: [0, 1] } });
    expect(await fake.batch('t', 0, [0])).toEqual(['0']);
  });

  it('holds a retry-tier partition until its record is due, without resolving that record', async () => {
    const now = 1_000_000;
    const { fake, handler, tracked } = setup({
      nowMs: () => now,
      dueAtMs: (record) => Number(record.headers.due),
    });
    await tracked.start();
    const resolvedDue = await fake.batch('t', 2, [5], { due: String(now - 1) });
    expect(resolvedDue).toEqual(['5']);
    const resolvedLater = await fake.batch('t', 2, [6], { due: String(now + 60_000) });
    expect(resolvedLater).toEqual([]);
    expect(fake.paused.has('t/2')).toBe(true);
    expect(handler.started).toEqual(['2/5']);
    await handler.finish('2/5');
    await tracked.stop(0);
  });

  it('reports a crash kafkajs will not restart from, so the process can exit', async () => {
    const { fake, fatal, tracked } = setup();
    await tracked.start();
    fake.emit(events.CRASH, { error: new Error('boom'), groupId: 'g', restart: true });
    expect(fatal).toEqual([]);
    fake.emit(events.CRASH, { error: new Error('non-retriable'), groupId: 'g', restart: false });
    expect(fatal.map((e) => e.message)).toEqual(['non-retriable']);
    expect(tracked.ready()).toBe(false);
  });

  it('on stop, waits for in-flight work within the grace period, then commits', async () => {
    const { fake, handler, tracked } = setup();
    await tracked.start();
    await fake.batch('t', 0, [0, 1]);
    const stopped = tracked.stop(5000);
    await handler.finish('0/0', '0/1');
    await stopped;
    expect(fake.paused.has('t/0')).toBe(true);
    expect(lastCommit(fake.commits)).toEqual([{ topic: 't', partition: 0, offset: '2' }]);
  });
});
