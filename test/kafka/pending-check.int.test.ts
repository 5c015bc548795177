import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { createKafkaClient } from '../../common/kafka/index.js';
import { createLogger } from '../../common/logger.js';
import { createTestTopic } from '../support/kafka-fixture.js';
import { loadKafkajsOriginal } from '../support/kafkajs-original.js';
import { countPendingCheckTimers, type TimerCount } from '../support/request-queue-timers.js';
import { testKafkaBrokers, uniqueName } from '../support/stack-env.js';

const require = createRequire(import.meta.url);
const connectionModule = 'kafkajs/src/network/connection.js';

interface Connection {
  requestQueue: {
    pending: unknown[];
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    push(request: object): void;
    maybeThrottle(ms: number): void;
  };
  connect(): Promise<boolean>;
  disconnect(): Promise<boolean>;
  send(protocol: object): Promise<{ errorCode: number }>;
}
type ConnectionClass = new (options: object) => Connection;

// kafkajs's Connection with its own RequestQueue, and the one every kafkajs client here uses
// (whose RequestQueue has Sluice's check: importing common/kafka/index.ts installed it).
const KafkajsConnection = loadKafkajsOriginal<ConnectionClass>(connectionModule, [
  'kafkajs/src/network/requestQueue/index.js',
]);
const SluiceConnection = require(connectionModule) as ConnectionClass;

const { LEVELS, createLogger: createKafkajsLogger } = require('kafkajs/src/loggers') as {
  LEVELS: { NOTHING: number };
  createLogger(options: object): object;
};
const createSocketFactory = require('kafkajs/src/network/socketFactory.js') as () => unknown;
const apiVersions = require('kafkajs/src/protocol/requests/apiVersions/index.js') as {
  protocol(options: { version: number }): () => object;
};

const [brokerHost, brokerPort] = testKafkaBrokers[0]!.split(':') as [string, string];

/** A connected kafkajs broker connection, closed when the test finishes. */
async function connect(
  Class: ConnectionClass,
  options: { host?: string; port?: number; maxInFlightRequests?: number; requestTimeoutMs?: number } = {},
): Promise<Connection> {
  const connection = new Class({
    host: options.host ?? brokerHost,
    port: options.port ?? Number(brokerPort),
    clientId: uniqueName('pending-check'),
    logger: createKafkajsLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} }),
    socketFactory: createSocketFactory(),
    connectionTimeout: 5000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    maxInFlightRequests: options.maxInFlightRequests ?? null,
  });
  await connection.connect();
  onTestFinished(async () => {
    await connection.disconnect();
  });
  return connection;
}

/** ApiVersions v2: answered at once by any broker, and its answer carries a throttle time (KIP-219). */
const askVersions = (connection: Connection) => connection.send(apiVersions.protocol({ version: 2 })());

let timers: TimerCount | undefined;
afterEach(() => timers?.stop());

describe('pending-request timers on real broker connections', () => {
  it('kafkajs’s idle connection re-arms its timer continuously; Sluice’s arms none', async () => {
    const idleMs = 1000;
    const kafkajs = await connect(KafkajsConnection);
    const sluice = await connect(SluiceConnection);
    // One answer each: from then on kafkajs's queue checks its (empty) pending list every 1 ms.
    expect(await askVersions(kafkajs)).toMatchObject({ errorCode: 0 });
    expect(await askVersions(sluice)).toMatchObject({ errorCode: 0 });
    timers = countPendingCheckTimers();
    await sleep(idleMs);
    // About one per ms; far fewer on a starved machine, but never a handful.
    expect(timers.armed).toBeGreaterThan(20);
    expect(kafkajs.requestQueue.throttleCheckTimeoutId).not.toBeNull();
    expect(sluice.requestQueue.throttleCheckTimeoutId).toBeNull();
    timers.stop();

    await kafkajs.disconnect();
    timers = countPendingCheckTimers();
    await sleep(idleMs);
    expect(timers.armed).toBe(0);
  });

  it('holds requests while the broker’s throttle lasts and sends them when it ends', async () => {
    const throttleMs = 300;
    const sluice = await connect(SluiceConnection);
    await askVersions(sluice);
    timers = countPendingCheckTimers();
    const startedMs = Date.now();
    // What kafkajs does with a response's throttle time (Connection#send → maybeThrottle).
    sluice.requestQueue.maybeThrottle(throttleMs);
    const answeredAtMs = await Promise.all(
      Array.from({ length: 3 }, () => askVersions(sluice).then(() => Date.now())),
    );
    for (const atMs of answeredAtMs) expect(atMs - startedMs).toBeGreaterThanOrEqual(throttleMs);
    // One timer for the end of the throttle (a second if Node fires it a millisecond early).
    expect(timers.armed).toBeGreaterThanOrEqual(1);
    expect(timers.armed).toBeLessThanOrEqual(3);
  });

  it('sends requests held back by maxInFlightRequests as each answer arrives, without a timer', async () => {
    const sluice = await connect(SluiceConnection, { maxInFlightRequests: 1 });
    const queue = sluice.requestQueue;
    const push = queue.push.bind(queue);
    let mostPending = 0;
    queue.push = (request) => {
      push(request);
      mostPending = Math.max(mostPending, queue.pending.length);
    };
    timers = countPendingCheckTimers();
    const answers = await Promise.all(Array.from({ length: 20 }, () => askVersions(sluice)));
    expect(answers.every((answer) => answer.errorCode === 0)).toBe(true);
    expect(mostPending).toBeGreaterThan(0);
    expect(timers.armed).toBe(0);
    timers.stop();
    // kafkajs's, for comparison: the same answers.
    const kafkajs = await connect(KafkajsConnection, { maxInFlightRequests: 1 });
    const kafkajsAnswers = await Promise.all(Array.from({ length: 20 }, () => askVersions(kafkajs)));
    expect(kafkajsAnswers).toEqual(answers);
  });

  it('times out a request the server never answers, then sends and times out the one behind it', async () => {
    const requestTimeoutMs = 300;
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const connection = await connect(SluiceConnection, {
      host: '127.0.0.1',
      port,
      maxInFlightRequests: 1,
      requestTimeoutMs,
    });
    const startedMs = Date.now();
    const outcomes = await Promise.all(
      [askVersions(connection), askVersions(connection)].map((promise) =>
        promise.then(
          () => ({ name: 'answered', atMs: Date.now() }),
          (error: Error) => ({ name: error.name, atMs: Date.now() }),
        ),
      ),
    );
    expect(outcomes.map((outcome) => outcome.name)).toEqual([
      'KafkaJSRequestTimeoutError',
      'KafkaJSRequestTimeoutError',
    ]);
    expect(outcomes[0]!.atMs - startedMs).toBeGreaterThan(requestTimeoutMs);
    expect(outcomes[1]!.atMs - startedMs).toBeGreaterThan(2 * requestTimeoutMs);
  });
});

describe('createKafkaClient', () => {
  it('produces through queued requests and leaves its connections without timers when idle', async () => {
    const kafka = createKafkaClient(
      {
        brokers: testKafkaBrokers,
        clientId: uniqueName('pending-check'),
        tls: false,
        sasl: undefined,
        connectTimeoutMs: 5000,
        requestTimeoutMs: 10_000,
      },
      createLogger('pending-check-test', 'fatal'),
    );
    const admin = kafka.admin();
    await admin.connect();
    onTestFinished(() => admin.disconnect());
    const topic = await createTestTopic(admin, 3);
    // As the gateway's publisher does: one request in flight per broker, the rest queued.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    onTestFinished(() => producer.disconnect());
    const sends = Array.from({ length: 30 }, (_, i) =>
      producer.send({ topic, acks: -1, messages: [{ key: `key-${i}`, value: `value-${i}` }] }),
    );
    const results = (await Promise.all(sends)).flat();
    expect(results).toHaveLength(30);
    expect(results.every((result) => result.errorCode === 0)).toBe(true);
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((sum, { high }) => sum + Number(high), 0)).toBe(30);

    timers = countPendingCheckTimers();
    await sleep(1000);
    expect(timers.armed).toBe(0);
  });
});
