import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSsrfPolicy, type ResolveAll } from '../../common/ssrf-guard.js';
import { createWebhookSender, type AttemptResult, type WebhookSender } from './webhook-sender.js';

const loopbackAllowed = createSsrfPolicy({ allowedCidrs: ['127.0.0.0/8'] });
const strict = createSsrfPolicy();
const attemptTimeoutMs = 400;

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

interface TestServer {
  url: string;
  port: number;
  received: Received[];
  connections: number;
  sockets: Set<Socket>;
}

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real HTTP server on 127.0.0.1:0 that records requests and lets `respond` answer (or not). */
async function startServer(
  respond: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const state: TestServer = { url: '', port: 0, received: [], connections: 0, sockets: new Set() };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      state.received.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      respond(req, res);
    });
  });
  server.on('connection', (socket) => {
    state.connections += 1;
    state.sockets.add(socket);
    socket.on('close', () => state.sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of state.sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return state;
}

function sender(options: Partial<Parameters<typeof createWebhookSender>[0]> = {}): WebhookSender {
  const created = createWebhookSender({ attemptTimeoutMs, ssrfPolicy: loopbackAllowed, ...options });
  cleanups.push(() => created.close());
  return created;
}

const payload = JSON.stringify({
  type: 'order.created',
  timestamp: '2024-05-01T12:00:00Z',
  data: { id: 'o-1' },
});
const headers = { 'content-type': 'application/json', 'webhook-id': 'evt_1' };

function expectStatus(result: AttemptResult, status: number): void {
  expect(result).toMatchObject({ status });
}

describe('createWebhookSender', () => {
  it('POSTs the body and headers and reports a 2xx with its duration', async () => {
    const server = await startServer((_req, res) => res.writeHead(204).end());
    const result = await sender().send({
      url: `${server.url}/hooks/orders?tenant=a`,
      headers,
      body: payload,
    });

    expectStatus(result, 204);
    expect(result.durationMs).toBeGreaterThan(0);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]).toMatchObject({
      method: 'POST',
      url: '/hooks/orders?tenant=a',
      body: payload,
    });
    expect(server.received[0]?.headers).toMatchObject(headers);
  });

  it('reports a 500 and a 410 as statuses, not errors', async () => {
    const failing = await startServer((_req, res) => res.writeHead(500).end('boom'));
    const gone = await startServer((_req, res) => res.writeHead(410).end());
    const client = sender();

    expectStatus(await client.send({ url: failing.url, headers, body: payload }), 500);
    expectStatus(await client.send({ url: gone.url, headers, body: payload }), 410);
  });

  it('keeps the allow-listed response headers and the body up to responseSampleBytes (+1 to cut)', async () => {
    const long = 'é'.repeat(3000); // 6000 bytes, chunked: no Content-Length
    const server = await startServer((req, res) => {
      res.writeHead(req.url === '/long' ? 500 : 200, {
        'content-type': 'text/plain; charset=utf-8',
        'x-request-id': 'req-1',
        'set-cookie': 'session=secret',
        'x-api-token': 'secret',
      });
      if (req.url === '/long') {
        res.write(long.slice(0, 1000));
        res.end(long.slice(1000));
      } else res.end('ok');
    });
    const client = sender({ responseSampleBytes: 4096 });
    const short = await client.send({ url: `${server.url}/short`, headers, body: payload });
    expect(short).toMatchObject({
      status: 200,
      responseHeaders: { 'content-type': 'text/plain; charset=utf-8', 'x-request-id': 'req-1' },
      responseBodyTruncated: false,
    });
    // set-cookie and the custom token header are not on the allow list.
    expect(Object.keys((short as { responseHeaders: object }).responseHeaders).sort()).toEqual([
      'content-type',
      'date',
      'x-request-id',
    ]);
    expect((short as { responseBody: Buffer }).responseBody.toString()).toBe('ok');
    const cut = await client.send({ url: `${server.url}/long`, headers, body: payload });
    expect(cut).toMatchObject({ status: 500, responseBodyTruncated: true });
    const kept = (cut as { responseBody: Buffer }).responseBody;
    expect(kept.length).toBe(4097);
    expect(kept.equals(Buffer.from(long).subarray(0, 4097))).toBe(true);
  });

  it('keeps no headers or body without responseSampleBytes', async () => {
    const server = await startServer((_req, res) => res.writeHead(200, { 'x-request-id': 'r' }).end('ok'));
    const result = await sender().send({ url: server.url, headers, body: payload });
    expect(result).not.toHaveProperty('responseHeaders');
    expect(result).not.toHaveProperty('responseBody');
  });

  it('passes Retry-After through on a 429', async () => {
    const server = await startServer((_req, res) => res.writeHead(429, { 'retry-after': '42' }).end());
    expect(await sender().send({ url: server.url, headers, body: payload })).toMatchObject({
      status: 429,
      retryAfter: '42',
    });
  });

  it('never follows a redirect: the 302 is the answer and its target gets no request', async () => {
    const target = await startServer((_req, res) => res.writeHead(200).end());
    const redirecting = await startServer((_req, res) =>
      res.writeHead(302, { location: `${target.url}/stolen` }).end(),
    );
    const result = await sender().send({ url: redirecting.url, headers, body: payload });

    expect(result).toMatchObject({ status: 302 });
    expect(redirecting.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
    expect(target.connections).toBe(0);
  });

  it('times out a receiver that never sends headers', async () => {
    const server = await startServer(() => undefined);
    const result = await sender().send({ url: server.url, headers, body: payload });

    expect(result).toMatchObject({ error: 'timeout' });
    expect(result.durationMs).toBeGreaterThanOrEqual(attemptTimeoutMs - 5);
    expect(result.durationMs).toBeLessThan(attemptTimeoutMs + 1_000);
  });

  it('takes a shorter deadline per request, and never a longer one than attemptTimeoutMs', async () => {
    const server = await startServer(() => undefined);
    const shorter = await sender().send({ url: server.url, headers, body: payload, timeoutMs: 100 });
    expect(shorter).toMatchObject({ error: 'timeout', message: 'no complete answer within 100 ms' });
    const longer = await sender().send({ url: server.url, headers, body: payload, timeoutMs: 60_000 });
    expect(longer).toMatchObject({
      error: 'timeout',
      message: `no complete answer within ${attemptTimeoutMs} ms`,
    });
  });

  it('times out a receiver that sends headers and then stalls the body', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial answer, the rest never comes');
    });
    const result = await sender().send({ url: server.url, headers, body: payload });

    expect(result).toMatchObject({ error: 'timeout' });
    expect(result.durationMs).toBeGreaterThanOrEqual(attemptTimeoutMs - 5);
    expect(result.durationMs).toBeLessThan(attemptTimeoutMs + 1_000);
  });

  it('times out a receiver that trickles its body faster than undici’s idle timers would notice', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200);
      const interval = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(interval));
    });
    const result = await sender().send({ url: server.url, headers, body: payload });

    expect(result).toMatchObject({ error: 'timeout' });
    expect(result.durationMs).toBeLessThan(attemptTimeoutMs + 1_000);
  });

  it('stops reading a huge body at the cap and drops the connection', async () => {
    let bytesWritten = 0;
    let closedEarly = false;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // An endless body: only the client giving up can end this answer.
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) bytesWritten += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => (closedEarly = !res.writableFinished));
      pump();
    });
    const result = await sender({ maxResponseBodyBytes: 16 * 1024, attemptTimeoutMs: 5_000 }).send({
      url: server.url,
      headers,
      body: payload,
    });

    expectStatus(result, 200);
    expect(result.durationMs).toBeLessThan(2_000);
    await expect.poll(() => closedEarly, { timeout: 2_000 }).toBe(true);
    // Socket buffers hold a few MiB at most; an unbounded read would have gone on forever.
    expect(bytesWritten).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a body declared larger than the cap without reading it', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(1024 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
    });
    const result = await sender({ maxResponseBodyBytes: 1024 }).send({
      url: server.url,
      headers,
      body: payload,
    });

    expectStatus(result, 200);
    expect(result.durationMs).toBeLessThan(attemptTimeoutMs);
  });

  it('reuses keep-alive connections for consecutive attempts instead of opening one per attempt', async () => {
    const server = await startServer((_req, res) => res.writeHead(200).end('ok'));
    const client = sender();
    for (let i = 0; i < 6; i++)
      expectStatus(await client.send({ url: server.url, headers, body: payload }), 200);

    expect(server.received).toHaveLength(6);
    // undici's pool may still count the previous client busy in the tick the next attempt starts,
    // so it alternates between two sockets; without reuse this would be six.
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it('reports a refused connection as a connect error', async () => {
    const server = await startServer(() => undefined);
    const closedUrl = server.url;
    const cleanup = cleanups.pop();
    await cleanup?.();
    const result = await sender().send({ url: closedUrl, headers, body: payload });

    expect(result).toMatchObject({
      error: 'connect',
      errorClass: 'connection-refused',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('refuses a private IP-literal URL before making any connection', async () => {
    const server = await startServer((_req, res) => res.writeHead(200).end());
    const result = await sender({ ssrfPolicy: strict }).send({ url: server.url, headers, body: payload });

    expect(result).toMatchObject({ error: 'ssrf', message: expect.stringContaining('loopback') });
    expect(server.connections).toBe(0);
  });

  it('refuses at connect time a host name that resolves to a private address (DNS rebinding)', async () => {
    const server = await startServer((_req, res) => res.writeHead(200).end());
    const resolveAll: ResolveAll = (_hostname, _options, callback) =>
      setImmediate(() => callback(null, [{ address: '127.0.0.1', family: 4 }]));
    const url = `http://hooks.rebind.test:${server.port}/`;

    const refused = await sender({ ssrfPolicy: strict, resolveAll }).send({ url, headers, body: payload });
    expect(refused).toMatchObject({ error: 'ssrf', message: expect.stringContaining('127.0.0.1') });
    expect(server.connections).toBe(0);

    // The same name under a policy that allows loopback connects through the same lookup.
    const allowed = await sender({ ssrfPolicy: loopbackAllowed, resolveAll }).send({
      url,
      headers,
      body: payload,
    });
    expectStatus(allowed, 200);
    expect(server.received[0]?.headers.host).toBe(`hooks.rebind.test:${server.port}`);
  });

  it('refuses a non-http scheme as an ssrf result', async () => {
    expect(await sender().send({ url: 'file:///etc/passwd', headers, body: payload })).toMatchObject({
      error: 'ssrf',
    });
  });

  it('rejects with the caller’s reason when the caller cancels, instead of inventing an outcome', async () => {
    const server = await startServer(() => undefined);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 50);

    await expect(
      sender({ attemptTimeoutMs: 5_000 }).send({
        url: server.url,
        headers,
        body: payload,
        cancelSignal: controller.signal,
      }),
    ).rejects.toBe(reason);
  });

  it('closes its pooled connections on close()', async () => {
    const server = await startServer((_req, res) => res.writeHead(200).end());
    const client = createWebhookSender({ attemptTimeoutMs, ssrfPolicy: loopbackAllowed });
    expectStatus(await client.send({ url: server.url, headers, body: payload }), 200);
    expect(server.sockets.size).toBe(1);

    await client.close();
    await expect.poll(() => server.sockets.size, { timeout: 2_000 }).toBe(0);
  });

  it('throws rather than reporting an outcome when used after close() or given an invalid header', async () => {
    const server = await startServer((_req, res) => res.writeHead(200).end());
    const client = sender();

    await expect(
      client.send({ url: server.url, headers: { 'x-bad': 'line\r\nbreak' }, body: payload }),
    ).rejects.toMatchObject({ code: 'UND_ERR_INVALID_ARG' });
    await client.close();
    await expect(client.send({ url: server.url, headers, body: payload })).rejects.toMatchObject({
      code: expect.stringMatching(/^UND_ERR_(CLOSED|DESTROYED)$/),
    });
    expect(server.received).toHaveLength(0);
  });
});
