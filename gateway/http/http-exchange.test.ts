import { describe, expect, it } from 'vitest';
import { HttpExchange } from './http-exchange.js';
import type { UwsHttpRequest, UwsHttpResponse } from './uws.js';

/**
 * A stand-in for uWS's HttpResponse that records calls and, like uWS, throws when used after it
 * was aborted or ended. The real-socket behaviour is covered by router.test.ts and body-reader.test.ts;
 * this one pins down the exchange's own bookkeeping.
 */
function fakeResponse() {
  const calls: string[] = [];
  let abortHandler: (() => void) | undefined;
  let dataHandler: ((chunk: ArrayBuffer, isLast: boolean) => void) | undefined;
  let dead = false;
  const use = (call: string) => {
    if (dead) throw new Error(`uWS response used after it ended or aborted: ${call}`);
    calls.push(call);
  };
  const res = {
    onAborted(handler: () => void) {
      abortHandler = handler;
      return res;
    },
    onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void) {
      dataHandler = handler;
      return res;
    },
    cork(callback: () => void) {
      use('cork');
      callback();
      return res;
    },
    writeStatus(status: string) {
      use(`status ${status}`);
      return res;
    },
    writeHeader(name: string, value: string) {
      use(`header ${name}: ${value}`);
      return res;
    },
    end(body: string, closeConnection: boolean) {
      use(`end ${body} close=${closeConnection}`);
      dead = true;
      return res;
    },
    close() {
      use('close');
      dead = true;
      abortHandler?.();
      return res;
    },
  };
  return {
    res: res as unknown as UwsHttpResponse,
    calls,
    abort: () => {
      dead = true;
      abortHandler?.();
    },
    sendData: (text: string, isLast: boolean) => dataHandler?.(new TextEncoder().encode(text).buffer, isLast),
    get abortAttached() {
      return abortHandler !== undefined;
    },
  };
}

function fakeRequest(headers: Array<[string, string]> = []): UwsHttpRequest {
  return {
    getMethod: () => 'post',
    getUrl: () => '/v1/events',
    getQuery: () => undefined,
    forEach: (visit: (name: string, value: string) => void) =>
      headers.forEach(([name, value]) => visit(name, value)),
  } as unknown as UwsHttpRequest;
}

describe('HttpExchange', () => {
  it('attaches onAborted as soon as it is created', () => {
    const fake = fakeResponse();
    new HttpExchange(fake.res, fakeRequest());
    expect(fake.abortAttached).toBe(true);
  });

  it('writes status, headers and body in one corked call, keeping the connection open', () => {
    const fake = fakeResponse();
    const exchange = new HttpExchange(fake.res, fakeRequest());
    expect(exchange.respond(202, { 'content-type': 'application/json' }, '{}')).toBe(true);
    expect(fake.calls).toEqual([
      'cork',
      'status 202 Accepted',
      'header content-type: application/json',
      'end {} close=false',
    ]);
    expect(exchange.responded).toBe(true);
  });

  it('ignores a second response instead of touching an ended uWS response', () => {
    const fake = fakeResponse();
    const exchange = new HttpExchange(fake.res, fakeRequest());
    exchange.respond(200, {}, 'first');
    expect(exchange.respond(500, {}, 'second')).toBe(false);
    expect(fake.calls.filter((call) => call.startsWith('end'))).toEqual(['end first close=false']);
  });

  it('ignores a response after the client aborted, and tells abort listeners once', () => {
    const fake = fakeResponse();
    const exchange = new HttpExchange(fake.res, fakeRequest());
    let notified = 0;
    exchange.onAbort(() => (notified += 1));
    fake.abort();
    expect(exchange.aborted).toBe(true);
    expect(exchange.respond(200, {}, 'too late')).toBe(false);
    expect(fake.calls).toEqual([]);
    expect(notified).toBe(1);
    exchange.onAbort(() => (notified += 1));
    expect(notified).toBe(2); // a listener added after the abort runs at once
  });

  it('closes the connection when it answers before the request body was read', () => {
    const fake = fakeResponse();
    const exchange = new HttpExchange(fake.res, fakeRequest([['content-length', '100']]));
    exchange.respond(404, {}, 'nope');
    expect(fake.calls.at(-1)).toBe('end nope close=true');
  });

  it('keeps the connection once the body was read to the end', () => {
    const fake = fakeResponse();
    const exchange = new HttpExchange(fake.res, fakeRequest([['content-length', '5']]));
    exchange.onData(() => {});
    fake.sendData('hello', true);
    exchange.respond(200, {}, 'ok');
    expect(fake.calls.at(-1)).toBe('end ok close=false');
  });

  it('refuses to attach onData after the synchronous phase while a body is pending', () => {
    const exchange = new HttpExchange(fakeResponse().res, fakeRequest([['content-length', '5']]));
    exchange.endSynchronousPhase();
    expect(() => exchange.onData(() => {})).toThrow(/before the route handler first awaits/);
  });

  it('survives an abort listener that throws and still runs the others', () => {
    const fake = fakeResponse();
    const exchange = new HttpExchange(fake.res, fakeRequest());
    let ran = false;
    exchange.onAbort(() => {
      throw new Error('listener bug');
    });
    exchange.onAbort(() => (ran = true));
    expect(() => fake.abort()).not.toThrow();
    expect(ran).toBe(true);
  });
});
