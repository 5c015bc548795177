import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../errors.js';
import type { Producer } from './index.js';
import {
  createRecordWriter,
  outgoingRecordBytes,
  type OutgoingRecord,
  type RecordWriterOptions,
  type WriteListener,
  type WriteOutcome,
} from './record-writer.js';

type SendBatchArgs = Parameters<Producer['sendBatch']>[0];

/** A producer whose produce requests the test acknowledges or fails by hand. */
function controlledProducer() {
  const sends: Array<{ args: SendBatchArgs; ack: () => void; fail: (error: Error) => void }> = [];
  const producer = {
    sendBatch: (args: SendBatchArgs) =>
      new Promise<never[]>((resolve, reject) => {
        sends.push({ args, ack: () => resolve([]), fail: reject });
      }),
  };
  const valuesOf = (index: number) =>
    sends[index]!.args.topicMessages!.flatMap((topic) =>
      topic.messages.map((message) => `${topic.topic}:${String(message.value)}`),
    );
  return { producer, sends, valuesOf };
}

function record(value: string, topic = 'events'): OutgoingRecord {
  return { topic, key: value, value: Buffer.from(value), headers: { ce_id: value } };
}

/** A listener that keeps what it is told. */
function recorder() {
  const answers: WriteOutcome[] = [];
  const settlements: WriteOutcome[] = [];
  const listener: WriteListener = {
    answered: (outcome) => answers.push(outcome),
    settled: (outcome) => settlements.push(outcome),
  };
  const reasons = (outcomes: WriteOutcome[]) => outcomes.map((o) => (o.ok ? 'ok' : o.reason));
  return {
    listener,
    answers: () => reasons(answers),
    settlements: () => reasons(settlements),
    failure: () => answers.find((o) => !o.ok),
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

function writerWith(
  producers: RecordWriterOptions['producers'],
  overrides: Partial<RecordWriterOptions> = {},
) {
  return createRecordWriter({
    producers,
    sendsPerProducer: 1,
    maxBatchRecords: 1000,
    maxBatchBytes: 1024 * 1024,
    deadlineMs: 5000,
    ...overrides,
  });
}

describe('outgoingRecordBytes', () => {
  it('counts value, key and headers in bytes, plus a fixed overhead per record', () => {
    const text = outgoingRecordBytes({ topic: 't', key: 'é', value: Buffer.alloc(10), headers: { a: 'ü' } });
    expect(text).toBe(64 + 10 + 2 + 1 + 2);
    const bytes = outgoingRecordBytes({ topic: 't', key: Buffer.alloc(3), value: null, headers: {} });
    expect(bytes).toBe(64 + 3);
    expect(outgoingRecordBytes({ topic: 't', key: null, value: null, headers: {} })).toBe(64);
  });
});

describe('record writer', () => {
  it('answers a write once its produce request is acknowledged with acks=all', async () => {
    const kafka = controlledProducer();
    const writer = writerWith([kafka.producer]);
    const seen = recorder();
    writer.write([record('a'), record('b', 'other')], seen.listener);
    expect(kafka.sends).toHaveLength(1);
    expect(kafka.sends[0]!.args).toMatchObject({ acks: -1, timeout: 5000 });
    expect(kafka.valuesOf(0)).toEqual(['events:a', 'other:b']);
    expect(writer.pendingRecords()).toBe(2);
    expect(seen.answers()).toEqual([]);
    kafka.sends[0]!.ack();
    await turn();
    expect(seen.answers()).toEqual(['ok']);
    expect(seen.settlements()).toEqual(['ok']);
    expect(writer.pendingRecords()).toBe(0);
    expect(writer.pendingBytes()).toBe(0);
  });

  it('groups writes queued while a request is in flight, within maxBatchRecords, never splitting one', async () => {
    const kafka = controlledProducer();
    const writer = writerWith([kafka.producer], { maxBatchRecords: 3 });
    const seen = recorder();
    writer.write([record('a')], seen.listener);
    writer.write([record('b')], seen.listener);
    writer.write([record('c'), record('d')], seen.listener);
    writer.write([record('e'), record('f'), record('g'), record('h')], seen.listener);
    kafka.sends[0]!.ack();
    await turn();
    // b and c,d make 3 records; the next write would pass the limit.
    expect(kafka.valuesOf(1)).toEqual(['events:b', 'events:c', 'events:d']);
    kafka.sends[1]!.ack();
    await turn();
    // Larger than the limit on its own: it goes alone, whole.
    expect(kafka.valuesOf(2)).toEqual(['events:e', 'events:f', 'events:g', 'events:h']);
    kafka.sends[2]!.ack();
    await turn();
    expect(seen.answers()).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('splits batches by maxBatchBytes', async () => {
    const kafka = controlledProducer();
    const writer = writerWith([kafka.producer], { maxBatchBytes: 300 });
    const seen = recorder();
    writer.write([record('x')], seen.listener);
    for (const value of ['1'.repeat(100), '2'.repeat(100), '3'.repeat(100)]) {
      writer.write([record(value)], seen.listener);
    }
    kafka.sends[0]!.ack();
    await turn();
    expect(kafka.valuesOf(1)).toEqual([`events:${'1'.repeat(100)}`]);
    kafka.sends[1]!.ack();
    await turn();
    expect(kafka.valuesOf(2)).toEqual([`events:${'2'.repeat(100)}`]);
  });

  it('keeps up to sendsPerProducer requests in flight on each producer', async () => {
    const first = controlledProducer();
    const second = controlledProducer();
    const writer = writerWith([first.producer, second.producer], { sendsPerProducer: 2 });
    const seen = recorder();
    for (const value of ['a', 'b', 'c', 'd', 'e']) writer.write([record(value)], seen.listener);
    expect(first.sends.length).toBe(2);
    expect(second.sends.length).toBe(2);
    expect(writer.oldestSendStartedMs()).toBeTypeOf('number');
    second.sends[0]!.ack();
    await turn();
    expect(second.sends.length).toBe(3);
    expect(second.valuesOf(2)).toEqual(['events:e']);
  });

  it('reports a failed produce request to every write in it, with its error', async () => {
    const kafka = controlledProducer();
    const failures: Array<[number, unknown]> = [];
    const writer = writerWith([kafka.producer], {
      hooks: { sendFailed: (records, error) => failures.push([records, error]) },
    });
    const seen = recorder();
    writer.write([record('a'), record('b')], seen.listener);
    const broken = new Error('broker said no');
    kafka.sends[0]!.fail(broken);
    await turn();
    expect(seen.answers()).toEqual(['send-failed']);
    expect(seen.settlements()).toEqual(['send-failed']);
    expect(seen.failure()).toMatchObject({ error: broken });
    expect(failures).toEqual([[2, broken]]);
    expect(writer.pendingRecords()).toBe(0);
  });

  it('drops a write still queued at its deadline, and answers one in flight before its outcome settles', async () => {
    let now = 0;
    const kafka = controlledProducer();
    const deadlines: string[] = [];
    const writer = writerWith([kafka.producer], {
      deadlineMs: 1000,
      nowMs: () => now,
      hooks: { deadlinePassed: (reason) => deadlines.push(reason) },
    });
    const sent = recorder();
    const queued = recorder();
    writer.write([record('a')], sent.listener);
    writer.write([record('b')], queued.listener);
    now = 1500;
    // The sweep runs on a real timer every deadlineMs / 10, at least 10 ms.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(queued.answers()).toEqual(['deadline-unsent']);
    expect(queued.settlements()).toEqual(['deadline-unsent']);
    expect(sent.answers()).toEqual(['deadline-in-flight']);
    expect(sent.settlements()).toEqual([]);
    expect(deadlines.sort()).toEqual(['deadline-in-flight', 'deadline-unsent']);
    expect(writer.pendingRecords()).toBe(1);
    expect(writer.oldestSendStartedMs()).toBe(0);
    // Kafka acknowledges after all: the outcome settles, the dropped write is never sent.
    kafka.sends[0]!.ack();
    await turn();
    expect(sent.answers()).toEqual(['deadline-in-flight']);
    expect(sent.settlements()).toEqual(['ok']);
    expect(kafka.sends).toHaveLength(1);
    expect(writer.pendingRecords()).toBe(0);
    expect(writer.oldestSendStartedMs()).toBeUndefined();
  });

  it('reports pending records and bytes, hand-offs and acknowledged requests to its hooks', async () => {
    let now = 100;
    const kafka = controlledProducer();
    const pending: Array<[number, number]> = [];
    const handOffs: Array<[number, boolean, number]> = [];
    const acks: Array<[number, number]> = [];
    const writer = writerWith([kafka.producer], {
      nowMs: () => now,
      maxBatchRecords: 1,
      hooks: {
        pendingChanged: (records, bytes) => pending.push([records, bytes]),
        handedOff: (youngest, empty, at) => handOffs.push([youngest, empty, at]),
        sendAcked: (records, durationMs) => acks.push([records, durationMs]),
      },
    });
    const seen = recorder();
    const size = outgoingRecordBytes(record('a'));
    writer.write([record('a')], seen.listener);
    now = 110;
    writer.write([record('b')], seen.listener);
    now = 150;
    kafka.sends[0]!.ack();
    await turn();
    expect(pending).toEqual([
      [1, size],
      [2, 2 * size],
      [1, size],
    ]);
    expect(handOffs).toEqual([
      [100, true, 100],
      [110, true, 150],
    ]);
    expect(acks).toEqual([[1, 50]]);
  });

  it('acknowledges an empty write at once, without a produce request', () => {
    const kafka = controlledProducer();
    const writer = writerWith([kafka.producer]);
    const seen = recorder();
    writer.write([], seen.listener);
    expect(seen.answers()).toEqual(['ok']);
    expect(seen.settlements()).toEqual(['ok']);
    expect(kafka.sends).toHaveLength(0);
  });

  it('whenQueueHasRoom waits while a full batch is queued behind busy producers', async () => {
    const kafka = controlledProducer();
    const writer = writerWith([kafka.producer], { maxBatchRecords: 2 });
    const seen = recorder();
    writer.write([record('a')], seen.listener);
    writer.write([record('b')], seen.listener);
    let room = false;
    const waiting = writer.whenQueueHasRoom().then(() => (room = true));
    await turn();
    expect(room).toBe(true);
    writer.write([record('c')], seen.listener);
    room = false;
    const full = writer.whenQueueHasRoom().then(() => (room = true));
    await turn();
    expect(room).toBe(false);
    kafka.sends[0]!.ack();
    await full;
    await waiting;
    expect(kafka.valuesOf(1)).toEqual(['events:b', 'events:c']);
  });

  it('flush waits until every write settled; close sends what is queued, answers it, then refuses writes', async () => {
    const kafka = controlledProducer();
    const writer = writerWith([kafka.producer]);
    const seen = recorder();
    writer.write([record('a')], seen.listener);
    writer.write([record('b')], seen.listener);
    let flushed = false;
    const flushing = writer.flush().then(() => (flushed = true));
    let closed = false;
    const closing = writer.close().then(() => (closed = true));
    await turn();
    expect(flushed || closed).toBe(false);
    kafka.sends[0]!.ack();
    await turn();
    expect(kafka.valuesOf(1)).toEqual(['events:b']);
    expect(closed).toBe(false);
    kafka.sends[1]!.ack();
    await Promise.all([flushing, closing]);
    expect(seen.answers()).toEqual(['ok', 'ok']);
    let refused: unknown;
    try {
      writer.write([record('late')], seen.listener);
    } catch (error) {
      refused = error;
    }
    expect(isSluiceError(refused, 'SLUICE_SHUTTING_DOWN')).toBe(true);
  });

  it('close with dropQueued drops what is queued, never written, and waits for the answers in flight', async () => {
    const kafka = controlledProducer();
    const writer = writerWith([kafka.producer]);
    const sent = recorder();
    const queued = recorder();
    writer.write([record('a')], sent.listener);
    writer.write([record('b')], queued.listener);
    let closed = false;
    const closing = writer.close({ dropQueued: true }).then(() => (closed = true));
    await turn();
    expect(queued.answers()).toEqual(['dropped-unsent']);
    expect(closed).toBe(false);
    kafka.sends[0]!.ack();
    await closing;
    expect(sent.answers()).toEqual(['ok']);
    expect(kafka.sends).toHaveLength(1);
    expect(writer.pendingRecords()).toBe(0);
  });
});
