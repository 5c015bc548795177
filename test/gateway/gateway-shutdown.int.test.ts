import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { spawnGateway } from '../support/gateway-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';
import { postEvent, prepareIngestGateway, uniqueEventId, validEvent, type Problem } from './ingest-client.js';

// SIGTERM under load on a real `sluice gateway` process: readiness goes false, new requests are
// refused, requests in flight finish, the producer flushes, the process exits 0, and no 202 was
// ever given for an event that is not in Kafka.

interface Outcome {
  id: string;
  /** The gateway had logged "shutting down" (and so stopped accepting) before this request was sent. */
  afterShutdownBegan: boolean;
  /** The answer arrived before SIGTERM was sent: the gateway cannot have been shutting down. */
  answeredBeforeSignal?: boolean;
  status?: number;
  code?: string;
  retryAfter?: string;
  connectionError?: string;
}

describe('gateway: graceful shutdown', () => {
  it('on SIGTERM under load exits 0, has written every event it answered 202, and refuses the rest', async () => {
    const setup = await prepareIngestGateway([
      { producerId: 'loader', ratePerSecond: 1_000_000, burst: 1_000_000 },
    ]);
    const gateway = await spawnGateway(setup);
    const apiKey = setup.keys.loader!;
    const agent = new Agent({ connections: 16, keepAliveTimeout: 30_000 });
    onTestFinished(() => agent.destroy());

    let exited = false;
    const exitCode = gateway.exited.then((code) => {
      exited = true;
      return code;
    });
    const shutdownLogged = () => gateway.logLines.some((line) => line.includes('"msg":"shutting down"'));
    let signalled = false;
    const outcomes: Outcome[] = [];
    const deadline = Date.now() + 90_000;

    async function loadLoop(loop: number): Promise<void> {
      // Keep sending until the connection fails after the process has gone.
      while (Date.now() < deadline) {
        const id = uniqueEventId(`load-${loop}`);
        const outcome: Outcome = { id, afterShutdownBegan: shutdownLogged() };
        outcomes.push(outcome);
        try {
          const answer = await postEvent(gateway.url, apiKey, validEvent({ id, key: `order-${loop}` }), {
            dispatcher: agent,
          });
          outcome.answeredBeforeSignal = !signalled;
          outcome.status = answer.status;
          outcome.retryAfter = answer.headers['retry-after'];
          if (answer.headers['content-type'] === 'application/problem+json') {
            outcome.code = (answer.json as Problem).code;
          }
        } catch (error) {
          outcome.connectionError = (error as { code?: string }).code ?? String(error);
          if (exited) return;
          await sleep(5);
        }
      }
    }

    const readiness: Array<{ status: number; afterShutdownBegan: boolean }> = [];
    async function readinessLoop(): Promise<void> {
      while (!exited && Date.now() < deadline) {
        const afterShutdownBegan = shutdownLogged();
        try {
          const response = await request(`${gateway.adminUrl}/readyz`, { dispatcher: agent });
          await response.body.dump();
          readiness.push({ status: response.statusCode, afterShutdownBegan });
        } catch {
          return; // the admin server closed: the process is about to exit
        }
        await sleep(5);
      }
    }

    const loops = [...Array.from({ length: 8 }, (_, loop) => loadLoop(loop)), readinessLoop()];
    // Mid-stream: a steady flow of accepted events first.
    while (outcomes.filter((outcome) => outcome.status === 202).length < 300 && Date.now() < deadline) {
      await sleep(20);
    }
    signalled = true;
    gateway.child.kill('SIGTERM');
    await Promise.all(loops);

    expect(await exitCode, gateway.logLines.slice(-20).join('\n')).toBe(0);
    expect(gateway.logLines.some((line) => line.includes('"msg":"gateway stopped"'))).toBe(true);

    const accepted = outcomes.filter((outcome) => outcome.status === 202);
    const refused = outcomes.filter((outcome) => outcome.status !== undefined && outcome.status !== 202);
    const failedConnections = outcomes.filter((outcome) => outcome.connectionError !== undefined);
    expect(accepted.length).toBeGreaterThanOrEqual(300);

    // Before the signal everything was accepted: the load itself was fine.
    expect(outcomes.filter((outcome) => outcome.answeredBeforeSignal && outcome.status !== 202)).toEqual([]);
    // Once shutdown began: only 503 SLUICE_SHUTTING_DOWN (with Retry-After) or a refused connection.
    const afterShutdown = outcomes.filter((outcome) => outcome.afterShutdownBegan);
    expect(afterShutdown.length).toBeGreaterThanOrEqual(1);
    expect(afterShutdown.filter((outcome) => outcome.status === 202)).toEqual([]);
    for (const outcome of refused) {
      expect(outcome).toMatchObject({ status: 503, code: 'SLUICE_SHUTTING_DOWN' });
      expect(outcome.retryAfter).toMatch(/^[1-9]\d*$/);
    }
    // Every loop ended on a failed connection once the process had gone.
    expect(failedConnections.length).toBeGreaterThanOrEqual(8);

    // Every 202 is in Kafka; nothing refused with 503 is. A connection that broke mid-answer may
    // have carried an event that was written: the client retries such a request with its id.
    const records = await readTopic(setup.eventsTopic, accepted.length, {
      settleMs: 2000,
      timeoutMs: 60_000,
    });
    const written = new Set(records.map((record) => record.headers.ce_id));
    const missing = accepted.filter((outcome) => !written.has(outcome.id)).map((outcome) => outcome.id);
    expect(missing).toEqual([]);
    expect(refused.filter((outcome) => written.has(outcome.id))).toEqual([]);
    const sent = new Map(outcomes.map((outcome) => [outcome.id, outcome]));
    for (const id of written) expect(sent.has(id!), `unexpected record ${id}`).toBe(true);
    expect(records.length).toBe(written.size);

    // Readiness never claimed ready once shutdown had begun.
    expect(readiness.filter((probe) => probe.afterShutdownBegan && probe.status === 200)).toEqual([]);
    expect(readiness.some((probe) => probe.status === 200)).toBe(true);
  });

  it('finishes with 202 a request whose body was still arriving when SIGTERM came, and writes it', async () => {
    const setup = await prepareIngestGateway([{ producerId: 'slow-sender' }]);
    const gateway = await spawnGateway(setup);
    const { port } = new URL(gateway.url);
    const id = uniqueEventId('in-flight');
    const body = Buffer.from(JSON.stringify(validEvent({ id })));
    const half = Math.floor(body.length / 2);
    const socket = connect(Number(port), '127.0.0.1');
    onTestFinished(() => void socket.destroy());
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `POST /v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${setup.keys['slow-sender']}\r\n` +
        `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, half));
    // The gateway holds the request (head read, body half there) when the signal comes.
    await sleep(300);
    gateway.child.kill('SIGTERM');
    const deadline = Date.now() + 10_000;
    while (
      !gateway.logLines.some((line) => line.includes('"msg":"shutting down"')) &&
      Date.now() < deadline
    ) {
      await sleep(10);
    }
    socket.write(body.subarray(half));
    const answered = Date.now() + 10_000;
    while (!answer.includes('\r\n\r\n') && Date.now() < answered) await sleep(10);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 202 Accepted');
    socket.end();
    await closed;
    expect(await gateway.exited).toBe(0);
    const [record] = await readTopic(setup.eventsTopic, 1, { timeoutMs: 30_000 });
    expect(record!.headers.ce_id).toBe(id);
  });
});
