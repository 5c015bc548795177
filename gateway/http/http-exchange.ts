import { STATUS_CODES } from 'node:http';
import { SluiceError } from '../../common/errors.js';
import { captureRequestHead, hasRequestBody, type RequestHead } from './request-head.js';
import type { UwsHttpRequest, UwsHttpResponse } from './uws.js';

export type ResponseHeaders = Readonly<Record<string, string>>;
export type ResponseBody = string | Uint8Array;

/** The client went away before the exchange finished; nothing can be answered any more. */
export class RequestAbortedError extends Error {
  readonly code = 'REQUEST_ABORTED';

  constructor() {
    super('the client aborted the request');
    this.name = 'RequestAbortedError';
  }
}

export function isRequestAborted(error: unknown): error is RequestAbortedError {
  return error instanceof RequestAbortedError;
}

/**
 * One request/response pair over a uWS `HttpResponse`, made safe to use across `await`s.
 *
 * uWS hazards this class absorbs:
 * - a response used after `onAborted` fired (or after it was ended) is a use-after-free that uWS
 *   turns into a thrown error at best: `respond` is a no-op once the exchange is aborted or answered;
 * - returning from the route handler without `onAborted` attached terminates the process: the
 *   constructor attaches it before anything else can fail or await;
 * - writes after an `await` must be corked or each header becomes its own syscall: `respond` corks;
 * - `HttpRequest` dies with the handler's synchronous part: the head is copied in the constructor;
 * - body chunks that arrive before `onData` is attached are dropped (this build does not buffer
 *   them; the request then hangs until the client gives up): `onData` refuses to attach once the
 *   handler's synchronous part is over.
 */
export class HttpExchange {
  readonly head: RequestHead;
  /** Path parameters of the matched route, percent-decoded (set by the router). */
  params: Readonly<Record<string, string>> = {};

  private readonly res: UwsHttpResponse;
  private isAborted = false;
  private hasResponded = false;
  private abortListeners: Array<() => void> = [];
  /** True while request body bytes may still be on the wire (unread or partly read). */
  private bodyPending: boolean;
  private bodyAttached = false;
  private synchronousPhase = true;

  constructor(res: UwsHttpResponse, req: UwsHttpRequest) {
    this.res = res;
    // First statement on purpose: nothing before it may throw or await.
    res.onAborted(() => this.handleAbort());
    this.head = captureRequestHead(req);
    this.bodyPending = hasRequestBody(this.head);
  }

  get aborted(): boolean {
    return this.isAborted;
  }

  get responded(): boolean {
    return this.hasResponded;
  }

  /** Neither aborted nor answered: a response can still be sent. */
  get open(): boolean {
    return !this.isAborted && !this.hasResponded;
  }

  /** Whether request body bytes may still arrive. */
  get requestBodyPending(): boolean {
    return this.bodyPending;
  }

  /** Runs `listener` once if the client aborts (at once if it already has). Returns an unsubscribe. */
  onAbort(listener: () => void): () => void {
    if (this.isAborted) {
      listener();
      return () => {};
    }
    this.abortListeners.push(listener);
    return () => {
      this.abortListeners = this.abortListeners.filter((other) => other !== listener);
    };
  }

  /**
   * Sends the whole response in one corked write. Returns false (and does nothing) when the client
   * aborted or a response was already sent, so late writers after an `await` need no checks.
   * Do not pass `content-length`: uWS writes it from the body. Meant for the gateway's small
   * answers: uWS copies the whole body into its send buffer, with no backpressure handling here.
   *
   * While request body bytes are still unread (an early 404/413/401 on a POST), the connection is
   * closed after the response: the client stops sending, and a half-read body is never parsed as
   * the next request.
   */
  respond(status: number, headers: ResponseHeaders, body: ResponseBody = ''): boolean {
    if (!this.open) return false;
    this.hasResponded = true;
    const closeConnection = this.bodyPending;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      for (const [name, value] of Object.entries(headers)) this.res.writeHeader(name, value);
      this.res.end(body, closeConnection);
    });
    return true;
  }

  /**
   * Attaches the body handler. Only `readBody` should call this. `chunk` is valid only during the
   * call: uWS neuters the ArrayBuffer when the callback returns, so the handler must copy it.
   */
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): void {
    if (this.bodyAttached) {
      throw new SluiceError('SLUICE_INTERNAL', 'the request body can be read only once');
    }
    if (!this.synchronousPhase && this.bodyPending) {
      throw new SluiceError(
        'SLUICE_INTERNAL',
        'the request body must be read before the route handler first awaits: uWS drops earlier chunks',
      );
    }
    this.bodyAttached = true;
    this.res.onData((chunk, isLast) => {
      if (isLast) this.bodyPending = false;
      if (this.open) handler(chunk, isLast);
    });
  }

  /** Forcibly closes the connection without a response (onAborted listeners run). */
  destroy(): void {
    if (!this.open) return;
    this.hasResponded = true;
    this.res.close();
  }

  /** Called by the router once the route handler's synchronous part has returned. */
  endSynchronousPhase(): void {
    this.synchronousPhase = false;
  }

  private handleAbort(): void {
    this.isAborted = true;
    const listeners = this.abortListeners;
    this.abortListeners = [];
    for (const listener of listeners) {
      // This runs inside a uWS callback, where an exception would take the process down.
      try {
        listener();
      } catch {
        // A listener's failure must not stop the others; there is no one left to answer.
      }
    }
  }
}

const statusLines = new Map<number, string>();

/** `413 Payload Too Large`: uWS writes the status line verbatim, so the reason phrase is ours. */
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}
