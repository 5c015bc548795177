import { describe, expect, it } from 'vitest';
import {
  captureRequestHead,
  declaredContentLength,
  hasRequestBody,
  type RequestHead,
} from './request-head.js';
import type { UwsHttpRequest } from './uws.js';

/** Just enough of uWS's HttpRequest, behaving like this build (lower-case method, undefined query). */
function fakeRequest(
  method: string,
  url: string,
  query: string | undefined,
  headers: Array<[string, string]>,
) {
  return {
    getMethod: () => method,
    getUrl: () => url,
    getQuery: () => query,
    forEach: (visit: (name: string, value: string) => void) =>
      headers.forEach(([name, value]) => visit(name, value)),
  } as unknown as UwsHttpRequest;
}

function headOf(headers: Record<string, string>): RequestHead {
  return { method: 'POST', path: '/', query: '', headers, headerBytes: 0 };
}

describe('captureRequestHead', () => {
  it('copies method, path, query and headers into plain values', () => {
    const head = captureRequestHead(
      fakeRequest('post', '/v1/events', 'dry=1', [
        ['Content-Type', 'application/json'],
        ['x-tag', 'a'],
        ['X-Tag', 'b'],
      ]),
    );
    expect(head.method).toBe('POST');
    expect(head.path).toBe('/v1/events');
    expect(head.query).toBe('dry=1');
    expect({ ...head.headers }).toEqual({ 'content-type': 'application/json', 'x-tag': 'a, b' });
    expect(head.headerBytes).toBe(
      'content-type'.length + 'application/json'.length + 2 * ('x-tag'.length + 1),
    );
  });

  it('turns a missing query into an empty string', () => {
    expect(captureRequestHead(fakeRequest('get', '/', undefined, [])).query).toBe('');
  });

  it('keeps headers named like Object.prototype members as plain headers', () => {
    const head = captureRequestHead(
      fakeRequest('get', '/', undefined, [
        ['__proto__', 'x'],
        ['constructor', 'y'],
      ]),
    );
    expect(head.headers['__proto__']).toBe('x');
    expect(head.headers['constructor']).toBe('y');
    expect(head.headers['toString']).toBeUndefined();
  });
});

describe('declaredContentLength and hasRequestBody', () => {
  it('parses a decimal Content-Length', () => {
    expect(declaredContentLength(headOf({ 'content-length': '1024' }))).toBe(1024);
    expect(declaredContentLength(headOf({}))).toBeUndefined();
  });

  it('flags a Content-Length that is not a plain decimal', () => {
    expect(declaredContentLength(headOf({ 'content-length': '-1' }))).toBe('invalid');
    expect(declaredContentLength(headOf({ 'content-length': '5, 5' }))).toBe('invalid');
    expect(declaredContentLength(headOf({ 'content-length': '1e3' }))).toBe('invalid');
  });

  it('expects a body for a non-zero length or any transfer encoding, and none otherwise', () => {
    expect(hasRequestBody(headOf({ 'content-length': '3' }))).toBe(true);
    expect(hasRequestBody(headOf({ 'transfer-encoding': 'chunked' }))).toBe(true);
    expect(hasRequestBody(headOf({ 'content-length': '0' }))).toBe(false);
    expect(hasRequestBody(headOf({}))).toBe(false);
  });
});
