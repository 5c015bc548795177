import { performance } from 'node:perf_hooks';
import { Agent, type Dispatcher } from 'undici';
import { keptResponseHeaderSet } from '../../common/attempts/attempt-record.js';
import { isSluiceError } from '../../common/errors.js';
import {
  checkWebhookUrl,
  createGuardedLookup,
  type ResolveAll,
  type SsrfPolicy,
} from '../../common/ssrf-guard.js';

export type AttemptErrorKind = 'timeout' | 'connect' | 'ssrf' | 'network';

/**
 * What one delivery attempt came to, as a value: the receiver answered (any status, including
 * 3xx, which is never followed), or it could not be reached or did not finish in time.
 */
export type AttemptResult =
  | {
      status: number;
      /** The raw `Retry-After` header, when the receiver sent one. */
      retryAfter: string | undefined;
      durationMs: number;
      /** The allow-listed response headers (`keptResponseHeaders`); only with `responseSampleBytes`. */
      responseHeaders?: Record<string, string>;
      /**
       * The body's first `responseSampleBytes` + 1 bytes (one more, so the sample can be cut at a
       * character and known to be truncated); only with `responseSampleBytes` and a body.
       */
      responseBody?: Buffer;
      /** The body was longer than the bytes kept, or declared over the read cap and never read. */
      responseBodyTruncated?: boolean;
    }
  | {
      error: AttemptErrorKind;
      /** A finer class for the attempt record: `connection-refused`, `tls`, `dns`, `connection-reset`, … */
      errorClass: string;
      message: string;
      durationMs: number;
    };

export interface WebhookSenderOptions {
  /** One deadline over connect, TLS, request, response headers and body. Default 15 000 ms. */
  attemptTimeoutMs?: number;
  /** Response body bytes read before the connection is dropped. Default 64 KiB. */
  maxResponseBodyBytes?: number;
  /**
   * Keep the allow-listed response headers and this many bytes of the body in each result (for
   * the attempt record). Undefined (default): keep nothing.
   */
  responseSampleBytes?: number;
  /** Sockets kept per receiver origin. Default 64. */
  connectionsPerOrigin?: number;
  ssrfPolicy: SsrfPolicy;
  /** Replaces the system resolver behind the SSRF lookup; for tests that script DNS answers. */
  resolveAll?: ResolveAll;
}

export interface WebhookRequest {
  url: string;
  /** This attempt's deadline (a subscription's own `timeoutMs`); capped at `attemptTimeoutMs`. */
  timeoutMs?: number | undefined;
  headers: Record<string, string>;
  body: string | Uint8Array;
  /**
   * Cancels the attempt (shutdown past its grace period). Cancelling is not an outcome of the
   * receiver, so `send` then rejects with the signal's reason instead of returning a result.
   */
  cancelSignal?: AbortSignal;
}

export interface WebhookSender {
  /** POSTs one attempt. Resolves with an AttemptResult; rejects only on faults or cancellation. */
  send(request: WebhookRequest): Promise<AttemptResult>;
  /** Closes every pooled connection once in-flight attempts finish; safe to call twice. */
  close(): Promise<void>;
}

const defaultAttemptTimeoutMs = 15_000;
const defaultMaxResponseBodyBytes = 64 * 1024;
const defaultConnectionsPerOrigin = 64;

/** Codes that mean no connection was made (DNS, routing, refusal, TLS handshake). */
const connectErrorCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const faultErrorCodes = new Set([
  'UND_ERR_INVALID_ARG',
  'ERR_INVALID_ARG_TYPE',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);
/** undici's own timers; they are backstops set to the attempt timeout and should rarely win. */
const timeoutErrorCodes = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** A webhook URL's SSRF verdict and, when allowed, its parsed origin and path. */
type Target = { ok: true; origin: string; path: string } | { ok: false; message: string };
const maxCachedTargets = 10_000;

/**
 * A pooled keep-alive HTTP client for webhook attempts: no redirects (undici 7 follows none
 * without the redirect interceptor, which is not installed), the URL's SSRF verdict applied to
 * every attempt (computed once per URL) plus a guarded DNS lookup on every new connection.
 */
export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? defaultAttemptTimeoutMs;
  const maxResponseBodyBytes = options.maxResponseBodyBytes ?? defaultMaxResponseBodyBytes;
  const sampleBytes = options.responseSampleBytes ?? -1;
  const { ssrfPolicy } = options;
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? defaultConnectionsPerOrigin,
    connect: { lookup: createGuardedLookup(ssrfPolicy, options.resolveAll), timeout: attemptTimeoutMs },
    headersTimeout: attemptTimeoutMs,
    bodyTimeout: attemptTimeoutMs,
  });

  // Checked against this process's policy, which may be stricter than the one in force when the
  // subscription was saved; an IP-literal host never reaches the guarded lookup. The verdict and
  // the parsed target depend only on the URL and the policy, which is fixed for the process, so
  // they are kept per URL (a bounded map: one entry per subscription URL in practice).
  const targets = new Map<string, Target>();
  function targetOf(url: string): Target {
    let target = targets.get(url);
    if (target === undefined) {
      const check = checkWebhookUrl(url, ssrfPolicy);
      if (check.ok) {
        const parsed = new URL(url);
        target = { ok: true, origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
      } else {
        target = check;
      }
      if (targets.size >= maxCachedTargets) targets.clear();
      targets.set(url, target);
    }
    return target;
  }

  /**
   * One attempt through undici's dispatch API: no AbortController, no body stream, no promise
   * chain per attempt, which the request() API would cost. The deadline is the attempt's own
   * timer and settles it when it fires, whatever undici does after that, so an attempt never
   * outlives attemptTimeoutMs (undici's headersTimeout/bodyTimeout measure gaps between events,
   * and a receiver trickling a byte every few seconds would never trip them).
   */
  function send({ url, headers, body, cancelSignal, timeoutMs }: WebhookRequest): Promise<AttemptResult> {
    const startedMs = performance.now();
    cancelSignal?.throwIfAborted();
    const target = targetOf(url);
    if (!target.ok) {
      return Promise.resolve({
        error: 'ssrf',
        errorClass: 'ssrf',
        message: target.message,
        durationMs: performance.now() - startedMs,
      });
    }
    return new Promise<AttemptResult>((resolve, reject) => {
      const attempt = new Attempt(
        startedMs,
        // undici's own timers stay at attemptTimeoutMs, backstops to this shorter deadline.
        timeoutMs === undefined ? attemptTimeoutMs : Math.min(timeoutMs, attemptTimeoutMs),
        maxResponseBodyBytes,
        sampleBytes,
        resolve,
        reject,
        cancelSignal,
      );
      agent.dispatch({ origin: target.origin, path: target.path, method: 'POST', headers, body }, attempt);
    });
  }

  // Idempotent: shutdown paths tend to close twice, and undici rejects a second close.
  let closing: Promise<void> | undefined;
  return { send, close: () => (closing ??= agent.close()) };
}

/**
 * The state of one attempt and undici's handler for it. A class, not closures: an attempt is the
 * hottest object of the worker, and its methods live once on the prototype instead of being
 * allocated (about ten of them) for every request. It is also the cancel signal's listener
 * (`handleEvent`) and its own timer's argument, so neither needs a closure either.
 */
class Attempt implements Dispatcher.DispatchHandler {
  private settled = false;
  private controller: Dispatcher.DispatchController | undefined;
  /** An abort asked for before undici handed over its controller. */
  private pendingAbort: Error | undefined;
  private status = 0;
  private retryAfter: string | undefined;
  private bodyBytes = 0;
  private headers: Record<string, string> | undefined;
  /** The kept start of the body: allocated at the first chunk, sized by Content-Length when known. */
  private sample: Buffer | undefined;
  private sampleLength = 0;
  private overCap = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly startedMs: number,
    private readonly timeoutMs: number,
    private readonly maxBodyBytes: number,
    /** Body bytes to keep; -1 keeps neither headers nor body. */
    private readonly sampleBytes: number,
    private readonly resolve: (result: AttemptResult) => void,
    private readonly reject: (error: unknown) => void,
    private readonly cancelSignal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(Attempt.onTimeout, timeoutMs, this);
    cancelSignal?.addEventListener('abort', this, { once: true });
  }

  private static onTimeout(attempt: Attempt): void {
    attempt.settle({
      error: 'timeout',
      errorClass: 'timeout',
      message: `no complete answer within ${attempt.timeoutMs} ms`,
      durationMs: attempt.elapsedMs(),
    });
    attempt.abortRequest(new Error(`attempt timed out after ${attempt.timeoutMs} ms`));
  }

  /** The cancel signal fired. */
  handleEvent(): void {
    const reason = this.cancelSignal!.reason as unknown;
    this.fail(reason);
    this.abortRequest(reason instanceof Error ? reason : new Error(String(reason)));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort !== undefined) controller.abort(this.pendingAbort);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.status = statusCode;
    this.retryAfter = firstValue(headers['retry-after']);
    if (this.sampleBytes >= 0) this.headers = keptHeaders(headers);
    // A body declared past the cap is not read at all.
    if (Number(headers['content-length']) > this.maxBodyBytes) {
      this.overCap = true;
      this.answeredAtCap(controller);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // Read up to the cap so a small answer leaves the socket reusable; keep only the sample.
    if (this.sampleLength <= this.sampleBytes) this.keep(chunk);
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.maxBodyBytes) this.answeredAtCap(controller);
  }

  onResponseEnd(): void {
    this.answered();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settled) return;
    try {
      this.settle({ ...describeFailure(error), durationMs: this.elapsedMs() });
    } catch (fault) {
      this.fail(fault);
    }
  }

  private elapsedMs(): number {
    return performance.now() - this.startedMs;
  }

  /**
   * Copies the part of `chunk` the sample still lacks (undici's chunk views the socket's read
   * buffer, which may be large): one buffer per answered attempt, as long as the declared body up
   * to the sample size, so a short answer costs a few pooled bytes rather than the whole sample.
   */
  private keep(chunk: Buffer): void {
    const limit = this.sampleBytes + 1;
    if (this.sample === undefined) {
      const declared = Number(this.headers?.['content-length']);
      this.sample = Buffer.allocUnsafe(declared > 0 && declared < limit ? declared : limit);
    }
    this.sampleLength += chunk.copy(this.sample, this.sampleLength, 0, Math.min(chunk.length, limit));
  }

  private answered(): void {
    if (this.sampleBytes < 0) {
      this.settle({ status: this.status, retryAfter: this.retryAfter, durationMs: this.elapsedMs() });
      return;
    }
    const sample = this.sample;
    this.settle({
      status: this.status,
      retryAfter: this.retryAfter,
      durationMs: this.elapsedMs(),
      responseHeaders: this.headers ?? {},
      ...(sample === undefined || this.sampleLength === 0
        ? {}
        : {
            responseBody: this.sampleLength < sample.length ? sample.subarray(0, this.sampleLength) : sample,
          }),
      responseBodyTruncated: this.overCap || this.bodyBytes > this.sampleBytes,
    });
  }

  // Past the cap the answer is the status alone; aborting destroys the connection, so a huge
  // answer costs nothing more.
  private answeredAtCap(controller: Dispatcher.DispatchController): void {
    this.answered();
    controller.abort(new Error('response body over the cap'));
  }

  private abortRequest(reason: Error): void {
    if (this.controller === undefined) this.pendingAbort = reason;
    else if (!this.controller.aborted) this.controller.abort(reason);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    this.cancelSignal?.removeEventListener('abort', this);
    return true;
  }

  private settle(result: AttemptResult): void {
    if (this.finish()) this.resolve(result);
  }

  private fail(error: unknown): void {
    if (this.finish()) this.reject(error);
  }
}

function describeFailure(error: unknown): { error: AttemptErrorKind; errorClass: string; message: string } {
  if (findInChain(error, (e) => isSluiceError(e, 'SLUICE_URL_FORBIDDEN'))) {
    return { error: 'ssrf', errorClass: 'ssrf', message: messageOf(error) };
  }
  const coded = findInChain(error, (e) => codeOf(e) !== undefined);
  const codeText = codeOf(coded);
  // A malformed header or body, or sending after close(), is our bug, not the receiver's answer.
  if (codeText !== undefined && faultErrorCodes.has(codeText)) throw error;
  const message = codeText === undefined ? messageOf(error) : `${codeText}: ${messageOf(coded)}`;
  if (codeText !== undefined && timeoutErrorCodes.has(codeText)) {
    return { error: 'timeout', errorClass: 'timeout', message };
  }
  if (codeText !== undefined && (connectErrorCodes.has(codeText) || codeText.startsWith('ERR_TLS_'))) {
    return { error: 'connect', errorClass: connectErrorClass(codeText), message };
  }
  return {
    error: 'network',
    errorClass: codeText === 'ECONNRESET' ? 'connection-reset' : 'network',
    message,
  };
}

/** The attempt record's class of a connect failure: refused, DNS, TLS, or another way of not connecting. */
function connectErrorClass(code: string): string {
  if (code === 'ECONNREFUSED') return 'connection-refused';
  if (code === 'ENOTFOUND' || code.startsWith('EAI_')) return 'dns';
  // The certificate codes (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, …) are OpenSSL's, not errno's.
  if (code.startsWith('ERR_TLS_') || !code.startsWith('E')) return 'tls';
  return 'connect';
}

/** The allow-listed response headers (names arrive in lower case from undici), each at most 1 KiB. */
function keptHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || !keptResponseHeaderSet.has(name)) continue;
    kept[name] = (Array.isArray(value) ? value.join(', ') : value).slice(0, 1024);
  }
  return kept;
}

/** Looks through `cause` and AggregateError members (happy-eyeballs connects fail with one). */
function findInChain(error: unknown, matches: (e: unknown) => boolean, depth = 0): unknown {
  if (error === undefined || error === null || depth > 5) return undefined;
  if (matches(error)) return error;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = findInChain(inner, matches, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return error instanceof Error ? findInChain(error.cause, matches, depth + 1) : undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
