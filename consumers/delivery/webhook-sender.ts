import { performance } from 'node:perf_hooks';
import { Agent, type Dispatcher } from 'undici';
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
    }
  | { error: AttemptErrorKind; message: string; durationMs: number };

export interface WebhookSenderOptions {
  /** One deadline over connect, TLS, request, response headers and body. Default 15 000 ms. */
  attemptTimeoutMs?: number;
  /** Response body bytes read before the connection is dropped. Default 64 KiB. */
  maxResponseBodyBytes?: number;
  /** Sockets kept per receiver origin. Default 64. */
  connectionsPerOrigin?: number;
  ssrfPolicy: SsrfPolicy;
  /** Replaces the system resolver behind the SSRF lookup; for tests that script DNS answers. */
  resolveAll?: ResolveAll;
}

export interface WebhookRequest {
  url: string;
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
   * chain per attempt, which the request() API would cost. The deadline is this function's own
   * timer and settles the attempt when it fires, whatever undici does after that, so an attempt
   * never outlives attemptTimeoutMs (undici's headersTimeout/bodyTimeout measure gaps between
   * events, and a receiver trickling a byte every few seconds would never trip them).
   */
  function send({ url, headers, body, cancelSignal }: WebhookRequest): Promise<AttemptResult> {
    const startedMs = performance.now();
    const elapsedMs = () => performance.now() - startedMs;
    cancelSignal?.throwIfAborted();
    const target = targetOf(url);
    if (!target.ok) {
      return Promise.resolve({ error: 'ssrf', message: target.message, durationMs: elapsedMs() });
    }

    return new Promise<AttemptResult>((resolve, reject) => {
      let settled = false;
      let controller: Dispatcher.DispatchController | undefined;
      /** An abort asked for before undici handed over its controller. */
      let pendingAbort: Error | undefined;
      let status = 0;
      let retryAfter: string | undefined;
      let bodyBytes = 0;

      const abortRequest = (reason: Error) => {
        if (controller === undefined) pendingAbort = reason;
        else if (!controller.aborted) controller.abort(reason);
      };
      const settle = (outcome: { result: AttemptResult } | { error: unknown }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cancelSignal?.removeEventListener('abort', onCancel);
        if ('result' in outcome) resolve(outcome.result);
        else reject(outcome.error);
      };
      const answered = () => settle({ result: { status, retryAfter, durationMs: elapsedMs() } });
      // Past the cap the answer is the status alone; aborting destroys the connection, so a huge
      // answer costs nothing more.
      const answeredAtCap = (requestController: Dispatcher.DispatchController) => {
        answered();
        requestController.abort(new Error('response body over the cap'));
      };
      const timer = setTimeout(() => {
        settle({
          result: {
            error: 'timeout',
            message: `no complete answer within ${attemptTimeoutMs} ms`,
            durationMs: elapsedMs(),
          },
        });
        abortRequest(new Error(`attempt timed out after ${attemptTimeoutMs} ms`));
      }, attemptTimeoutMs);
      function onCancel() {
        const reason = cancelSignal!.reason as unknown;
        settle({ error: reason });
        abortRequest(reason instanceof Error ? reason : new Error(String(reason)));
      }
      cancelSignal?.addEventListener('abort', onCancel, { once: true });

      agent.dispatch(
        { origin: target.origin, path: target.path, method: 'POST', headers, body },
        {
          onRequestStart(requestController) {
            controller = requestController;
            if (pendingAbort !== undefined) requestController.abort(pendingAbort);
          },
          onResponseStart(requestController, statusCode, responseHeaders) {
            status = statusCode;
            retryAfter = firstValue(responseHeaders['retry-after']);
            // A body declared past the cap is not read at all.
            if (Number(responseHeaders['content-length']) > maxResponseBodyBytes) {
              answeredAtCap(requestController);
            }
          },
          onResponseData(requestController, chunk) {
            // Read (and drop) up to the cap so a small answer leaves the socket reusable.
            bodyBytes += chunk.length;
            if (bodyBytes > maxResponseBodyBytes) answeredAtCap(requestController);
          },
          onResponseEnd: answered,
          onResponseError(_requestController, error) {
            if (settled) return;
            try {
              settle({ result: { ...describeFailure(error), durationMs: elapsedMs() } });
            } catch (fault) {
              settle({ error: fault });
            }
          },
        },
      );
    });
  }

  // Idempotent: shutdown paths tend to close twice, and undici rejects a second close.
  let closing: Promise<void> | undefined;
  return { send, close: () => (closing ??= agent.close()) };
}

function describeFailure(error: unknown): { error: AttemptErrorKind; message: string } {
  if (findInChain(error, (e) => isSluiceError(e, 'SLUICE_URL_FORBIDDEN'))) {
    return { error: 'ssrf', message: messageOf(error) };
  }
  const coded = findInChain(error, (e) => codeOf(e) !== undefined);
  const codeText = codeOf(coded);
  // A malformed header or body, or sending after close(), is our bug, not the receiver's answer.
  if (codeText !== undefined && faultErrorCodes.has(codeText)) throw error;
  const message = codeText === undefined ? messageOf(error) : `${codeText}: ${messageOf(coded)}`;
  if (codeText !== undefined && timeoutErrorCodes.has(codeText)) return { error: 'timeout', message };
  if (codeText !== undefined && (connectErrorCodes.has(codeText) || codeText.startsWith('ERR_TLS_'))) {
    return { error: 'connect', message };
  }
  return { error: 'network', message };
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
