import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from './body-reader.js';
import { isRequestAborted } from './http-exchange.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import { createRouter } from './router.js';

const maxBodyBytes = 64 * 1024;
/** What readBody settled with on the server, per request id, so tests can see inside the server. */
const outcomes = new Map<string, { kind: 'body'; bytes: number } | { kind: 'error'; code: string }>();
/** Request ids that arrived with chunked transfer encoding (no Content-Length). */
const chunkedIds = new Set<string>();
const unexpected: unknown[] = [];

const router = createRouter({ onUnexpectedError: (error) => unexpected.push(error) })
  .route('POST', '/echo', async (exchange) => {
    const id = exchange.head.headers['x-test-id'] ?? 'none';
    if (exchange.head.headers['transfer-encoding'] === 'chunked') chunkedIds.add(id);
    try {
      const body = await readBody(exchange, { maxBodyBytes });
      outcomes.set(id, { kind: 'body', bytes: body.length });
      exchange.respond(200, { 'content-type': 'application/octet-stream' }, body);
    } catch (error) {
      outcomes.set(id, {
        kind: 'error',
        code: isRequestAborted(error) ? 'aborted' : String((error as { code?: string }).code),
      });
      throw error;
    }
  })
  .route('POST', '/read-after-await', async (exchange) => {
    await sleep(1);
    await readBody(exchange, { maxBodyBytes });
    exchange.respond(200, {}, 'unreachable');
  });

let server: HttpServer;
const agent = new Agent();

beforeAll(async () => {
  server = await startHttpServer({ host: '127.0.0.1', port: 0, router });
});

afterAll(async () => {
  await agent.close();
  server.close();
});

function post(body: Buffer | Readable, headers: Record<string, string> = {}) {
  return request(`http://127.0.0.1:${server.port}/echo`, {
    dispatcher: agent,
    method: 'POST',
    body,
    headers,
  });
}

async function* inChunks(data: Buffer, chunkBytes: number): AsyncIterable<Buffer> {
  for (let offset = 0; offset < data.length; offset += chunkBytes) {
    yield data.subarray(offset, offset + chunkBytes);
    await sleep(0);
  }
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

interface RawState {
  answered: boolean;
  closed: boolean;
  /** Body bytes handed to the socket so far; the writer keeps it up to date. */
  written: number;
}

interface RawResult {
  /** Everything the server sent, as latin1 text. */
  response: string;
  /** Whether the server closed the connection. */
  closed: boolean;
  /** Body bytes the client managed to write before it stopped. */
  bodyBytesWritten: number;
}

/**
 * Speaks HTTP/1.1 over a plain socket, for what an HTTP client library hides: how many bytes were
 * sent before the answer, and whether the server closed the connection.
 */
function rawRequest(
  port: number,
  head: string,
  writeBody: (socket: Socket, state: RawState) => Promise<void>,
  waitMs = 2000,
): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const state: RawState = { answered: false, closed: false, written: 0 };
    let response = '';
    socket.on('data', (data) => {
      response += data.toString('latin1');
      state.answered = true;
    });
    socket.on('error', () => {}); // EPIPE/ECONNRESET once the server has closed: expected here.
    socket.on('close', () => {
      state.closed = true;
      clearTimeout(timer);
      resolve({ response, closed: true, bodyBytesWritten: state.written });
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response, closed: false, bodyBytesWritten: state.written });
    }, waitMs);
    socket.write(head);
    void writeBody(socket, state);
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
}

function problemOf(response: string): Record<string, unknown> {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

describe('readBody over real sockets', () => {
  it('echoes a body under the limit sent with Content-Length', async () => {
    const data = randomBytes(1000);
    const response = await post(data, { 'x-test-id': 'small' });
    expect(response.statusCode).toBe(200);
    expect(Buffer.from(await response.body.arrayBuffer()).equals(data)).toBe(true);
  });

  it('copies every chunk: a body arriving in many chunks comes back byte for byte (Content-Length)', async () => {
    const data = randomBytes(maxBodyBytes);
    const response = await post(data, { 'x-test-id': 'exact-limit' });
    expect(response.statusCode).toBe(200);
    expect(sha256(Buffer.from(await response.body.arrayBuffer()))).toBe(sha256(data));
  });

  it('copies every chunk of a chunked body too', async () => {
    const data = randomBytes(48 * 1024);
    const response = await post(Readable.from(inChunks(data, 4096)), { 'x-test-id': 'chunked-ok' });
    expect(response.statusCode).toBe(200);
    expect(sha256(Buffer.from(await response.body.arrayBuffer()))).toBe(sha256(data));
    expect(outcomes.get('chunked-ok')).toEqual({ kind: 'body', bytes: data.length });
    expect(chunkedIds.has('chunked-ok')).toBe(true);
  });

  it('answers an empty body with an empty echo', async () => {
    const response = await post(Buffer.alloc(0), { 'x-test-id': 'empty' });
    expect(response.statusCode).toBe(200);
    expect((await response.body.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers 413 from Content-Length alone, before any body byte is sent, and closes', async () => {
    const result = await rawRequest(
      server.port,
      `POST /echo HTTP/1.1\r\nHost: test\r\nx-test-id: declared-too-large\r\nContent-Length: ${maxBodyBytes + 1}\r\n\r\n`,
      async () => {}, // never send the body: the answer must not wait for it
    );
    expect(statusOf(result.response)).toBe(413);
    expect(result.response).toContain('content-type: application/problem+json');
    expect(problemOf(result.response)).toMatchObject({ code: 'SLUICE_BODY_TOO_LARGE', maxBodyBytes });
    expect(result.closed).toBe(true);
    expect(outcomes.get('declared-too-large')).toEqual({ kind: 'error', code: 'SLUICE_BODY_TOO_LARGE' });
  });

  it('answers 413 to a chunked body once it passes the limit, closes, and does not buffer the rest', async () => {
    const chunk = randomBytes(8 * 1024);
    const chunkFrame = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    ]);
    const result = await rawRequest(
      server.port,
      'POST /echo HTTP/1.1\r\nHost: test\r\nx-test-id: chunked-too-large\r\nTransfer-Encoding: chunked\r\n\r\n',
      async (socket, state) => {
        // Offer up to 64× the limit, but stop as soon as the server answers or hangs up.
        while (!state.answered && !state.closed && state.written < 64 * maxBodyBytes) {
          socket.write(chunkFrame);
          state.written += chunk.length;
          await sleep(1);
        }
      },
    );
    expect(statusOf(result.response)).toBe(413);
    expect(problemOf(result.response)).toMatchObject({ code: 'SLUICE_BODY_TOO_LARGE' });
    expect(result.response.toLowerCase()).toContain('connection: close');
    expect(result.closed).toBe(true);
    expect(result.bodyBytesWritten).toBeGreaterThan(maxBodyBytes);
    expect(result.bodyBytesWritten).toBeLessThan(64 * maxBodyBytes);
    expect(outcomes.get('chunked-too-large')).toEqual({ kind: 'error', code: 'SLUICE_BODY_TOO_LARGE' });

    const next = await post(Buffer.from('still serving'), { 'x-test-id': 'after-413' });
    expect(next.statusCode).toBe(200);
    expect(await next.body.text()).toBe('still serving');
  });

  it('survives a client that aborts mid-body, and keeps serving', async () => {
    await rawRequest(
      server.port,
      'POST /echo HTTP/1.1\r\nHost: test\r\nx-test-id: aborted\r\nContent-Length: 10000\r\n\r\n',
      async (socket) => {
        socket.write(Buffer.alloc(4000, 1));
        await sleep(20);
        socket.destroy();
      },
    );
    await expect.poll(() => outcomes.get('aborted')).toEqual({ kind: 'error', code: 'aborted' });

    const next = await post(Buffer.from('after abort'), { 'x-test-id': 'after-abort' });
    expect(next.statusCode).toBe(200);
    expect(await next.body.text()).toBe('after abort');
    expect(unexpected).toEqual([]);
  });

  it('refuses to read the body after the handler awaited, since uWS has dropped chunks by then', async () => {
    const response = await request(`http://127.0.0.1:${server.port}/read-after-await`, {
      dispatcher: agent,
      method: 'POST',
      body: 'some body',
    });
    expect(response.statusCode).toBe(500);
    expect(await response.body.json()).toMatchObject({ code: 'SLUICE_INTERNAL' });
    expect(String(unexpected.pop())).toMatch(/before the route handler first awaits/);
  });
});
