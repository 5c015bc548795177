import type { UwsHttpRequest } from './uws.js';

/**
 * Everything the gateway needs from a request line and its headers, copied into plain JavaScript
 * values. uWS's `HttpRequest` is stack-allocated: it is valid only while the route handler runs
 * synchronously and throws (or reads garbage) after the handler returns or after any `await`.
 */
export interface RequestHead {
  /** Upper-case method (`POST`). uWS hands it lower-cased and refuses lower-case request lines. */
  readonly method: string;
  /** The path exactly as sent, still percent-encoded, without the query string. */
  readonly path: string;
  /** The raw query string after `?`, still percent-encoded; empty when absent. */
  readonly query: string;
  /**
   * Header names lower-cased; a repeated header's values joined with `, ` (RFC 9110 §5.3).
   * A null-prototype object, so a header called `__proto__` or `constructor` is just a header.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes of header names and values (without separators), for a limit stricter than uWS's own. */
  readonly headerBytes: number;
}

/** Copies the request head out of uWS. Call it first thing in the route handler, synchronously. */
export function captureRequestHead(req: UwsHttpRequest): RequestHead {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  let headerBytes = 0;
  req.forEach((name, value) => {
    // uWS already lower-cases names while parsing; lower-casing again costs little and keeps this
    // module correct if a future uWS version stops doing so.
    const key = name.toLowerCase();
    headerBytes += key.length + value.length;
    const previous = headers[key];
    headers[key] = previous === undefined ? value : `${previous}, ${value}`;
  });
  return {
    method: req.getMethod().toUpperCase(),
    path: req.getUrl(),
    // This uWS build returns undefined (not the documented empty string) when there is no `?`.
    query: (req.getQuery() as string | undefined) ?? '',
    headers,
    headerBytes,
  };
}

/**
 * The declared `Content-Length`: a number, `undefined` when absent, or `'invalid'` when it is not
 * a plain decimal (uWS rejects most malformed values itself; this is the second line of defence).
 */
export function declaredContentLength(head: RequestHead): number | undefined | 'invalid' {
  const text = head.headers['content-length'];
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text)) return 'invalid';
  return Number(text);
}

/** Whether body bytes follow the head: a non-zero Content-Length or any Transfer-Encoding. */
export function hasRequestBody(head: RequestHead): boolean {
  if (head.headers['transfer-encoding'] !== undefined) return true;
  const length = declaredContentLength(head);
  return length === 'invalid' || (length !== undefined && length > 0);
}
