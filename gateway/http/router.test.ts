import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import type { RequestHead } from './request-head.js';
import { createRouter } from './router.js';

const unexpected: Array<{ error: unknown; head: RequestHead | undefined }> = [];
const router = createRouter({ onUnexpectedError: (error, head) => unexpected.push({ error, head }) });

router
  .route('GET', '/echo/:id', (exchange) => {
    const { method, path, query, headers } = exchange.head;
    exchange.respond(
      200,
      { 'content-type': 'application/json' },
      JSON.stringify({ method, path, query, headers, params: exchange.params }),
    );
  })
  .route('POST', '/echo/:id', (exchange) => {
    exchange.respond(204, {});
  })
  .route('DELETE', '/things/:id', (exchange) => {
    exchange.respond(204, {});
  })
  .route('GET', '/throws', () => {
    throw new Error('database password is hunter2');
  })
  .route('GET', '/rejects-overloaded', async () => {
    await sleep(1);
    throw new SluiceError('SLUICE_OVERLOADED', 'backlog too deep', { retryAfterSeconds: 3 });
  })
  .route('GET', '/slow', async (exchange) => {
    // The cork path: this response is written after an await, outside uWS's implicit cork.
    await sleep(20);
    exchange.respond(200, { 'content-type': 'text/plain', 'x-after-await': 'yes' }, 'late but fine');
  })
  .route('GET', '/forgets', async () => {
    await sleep(1);
  })
  .route('GET', '/other-api/things', (exchange) => {
    exchange.respond(200, {}, 'ok');
  })
  .route('GET', '/other-api/fails', () => {
    throw new Error('nobody may see this');
  })
  .errorFormat('/other-api', (exchange, error, options) =>
    exchange.respond(
      error instanceof SluiceError ? error.status : 500,
      { ...options?.headers, 'content-type': 'application/x-other' },
      JSON.stringify({ other: error instanceof SluiceError ? error.code : 'fault' }),
    ),
  );

let server: HttpServer;
let base: string;
const agent = new Agent();

beforeAll(async () => {
  server = await startHttpServer({ host: '127.0.0.1', port: 0, router, maxHeaderBytes: 2048 });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await agent.close();
  server.close();
});

async function get(
  path: string,
  init: { method?: 'GET' | 'POST' | 'PUT'; headers?: Record<string, string | string[]> } = {},
) {
  const response = await request(base + path, {
    dispatcher: agent,
    method: init.method ?? 'GET',
    headers: init.headers,
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

describe('startHttpServer', () => {
  it('binds a free port when asked for port 0', () => {
    expect(server.port).toBeGreaterThan(0);
  });
});

describe('router over real sockets', () => {
  it("answers the router's own errors under an error-format prefix in that format, and only there", async () => {
    const notFound = await get('/other-api/nothing');
    expect([notFound.status, notFound.headers['content-type'], notFound.text]).toEqual([
      404,
      'application/x-other',
      '{"other":"SLUICE_NOT_FOUND"}',
    ]);
    const wrongMethod = await get('/other-api/things', { method: 'PUT' });
    expect([wrongMethod.status, wrongMethod.headers.allow, wrongMethod.text]).toEqual([
      405,
      'GET',
      '{"other":"SLUICE_METHOD_NOT_ALLOWED"}',
    ]);
    expect((await get('/other-api/fails')).text).toBe('{"other":"fault"}');
    // A path that merely starts with the same letters keeps problem documents.
    const beside = await get('/other-apis');
    expect([beside.status, beside.headers['content-type']]).toEqual([404, 'application/problem+json']);
  });

  it('captures the request head: upper-case method, raw path and query, lower-cased joined headers, decoded params', async () => {
    const { status, text } = await get('/echo/order%2F1?x=1&y=a%20b', {
      headers: { 'X-Custom-Header': 'Value', 'x-repeat': ['one', 'two'] },
    });
    expect(status).toBe(200);
    const echoed = JSON.parse(text) as {
      method: string;
      path: string;
      query: string;
      headers: Record<string, string>;
      params: Record<string, string>;
    };
    expect(echoed.method).toBe('GET');
    expect(echoed.path).toBe('/echo/order%2F1');
    expect(echoed.query).toBe('x=1&y=a%20b');
    expect(echoed.headers['x-custom-header']).toBe('Value');
    expect(echoed.headers['X-Custom-Header']).toBeUndefined();
    expect(echoed.headers['x-repeat']).toBe('one, two');
    expect(echoed.params).toEqual({ id: 'order/1' });
  });

  it('reports an empty query string when there is no ?', async () => {
    const { text } = await get('/echo/1');
    expect((JSON.parse(text) as { query: string }).query).toBe('');
  });

  it('answers 404 problem+json for an unknown path', async () => {
    const { status, headers, text } = await get('/nowhere');
    expect(status).toBe(404);
    expect(headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(text)).toMatchObject({ code: 'SLUICE_NOT_FOUND', status: 404 });
  });

  it('answers 405 with an Allow header listing the methods of a known path', async () => {
    const { status, headers, text } = await get('/echo/1', { method: 'PUT' });
    expect(status).toBe(405);
    expect(headers.allow).toBe('GET, POST');
    expect(JSON.parse(text)).toMatchObject({ code: 'SLUICE_METHOD_NOT_ALLOWED' });
  });

  it('turns a thrown error into a 500 problem without leaking its message, and reports it', async () => {
    const before = unexpected.length;
    const { status, text } = await get('/throws');
    expect(status).toBe(500);
    expect(JSON.parse(text)).toMatchObject({ code: 'SLUICE_INTERNAL' });
    expect(text).not.toContain('hunter2');
    expect(unexpected.length).toBe(before + 1);
    expect(unexpected.at(-1)?.head?.path).toBe('/throws');
  });

  it('turns a rejected SluiceError into its status with Retry-After', async () => {
    const { status, headers, text } = await get('/rejects-overloaded');
    expect(status).toBe(503);
    expect(headers['retry-after']).toBe('3');
    expect(JSON.parse(text)).toMatchObject({ code: 'SLUICE_OVERLOADED', detail: 'backlog too deep' });
  });

  it('sends a response written after an await (corked) intact', async () => {
    const { status, headers, text } = await get('/slow');
    expect(status).toBe(200);
    expect(headers['x-after-await']).toBe('yes');
    expect(text).toBe('late but fine');
  });

  it('answers 500 when a handler settles without responding, instead of leaving the request hanging', async () => {
    const { status, text } = await get('/forgets');
    expect(status).toBe(500);
    expect(JSON.parse(text)).toMatchObject({ code: 'SLUICE_INTERNAL' });
  });

  it('answers 400 for a path parameter that is not valid percent-encoding', async () => {
    const { status, text } = await get('/echo/%E0%A4%A');
    expect(status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ code: 'SLUICE_MALFORMED_REQUEST' });
  });

  it('answers 400 when headers exceed maxHeaderBytes', async () => {
    const { status, text } = await get('/echo/1', { headers: { 'x-big': 'a'.repeat(3000) } });
    expect(status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ code: 'SLUICE_MALFORMED_REQUEST', maxHeaderBytes: 2048 });
  });

  it('keeps serving after all of the above', async () => {
    const results = await Promise.all(['/throws', '/echo/2', '/nowhere', '/slow'].map((path) => get(path)));
    expect(results.map((result) => result.status)).toEqual([500, 200, 404, 200]);
  });
});

describe('Router.match', () => {
  const table = createRouter()
    .route('GET', '/v1/subscriptions', () => {})
    .route('POST', '/v1/subscriptions', () => {})
    .route('GET', '/v1/subscriptions/:id', () => {})
    .route('POST', '/v1/subscriptions/:id/rotate-secret', () => {})
    .route('POST', '/v1/subscriptions/batch', () => {});

  it('prefers the first registered route that has the method', () => {
    const match = table.match('POST', '/v1/subscriptions/batch');
    expect(match.kind).toBe('found');
    expect(match.kind === 'found' && match.params).toEqual({});
  });

  it('captures parameters by name', () => {
    const match = table.match('POST', '/v1/subscriptions/sub-9/rotate-secret');
    expect(match.kind === 'found' && match.params).toEqual({ id: 'sub-9' });
  });

  it('unions the methods of every pattern that fits the path for 405', () => {
    expect(table.match('DELETE', '/v1/subscriptions/batch')).toEqual({
      kind: 'method-not-allowed',
      allow: ['GET', 'POST'],
    });
  });

  it('does not match an empty parameter or a trailing slash', () => {
    expect(table.match('GET', '/v1/subscriptions/')).toEqual({ kind: 'not-found' });
    expect(table.match('GET', '/v1/subscriptions/a/b')).toEqual({ kind: 'not-found' });
  });

  it('refuses a route registered twice', () => {
    expect(() =>
      createRouter()
        .route('GET', '/a', () => {})
        .route('GET', '/a', () => {}),
    ).toThrow(/registered twice/);
  });
});
