import { SluiceError } from '../../common/errors.js';
import { HttpExchange, isRequestAborted, type ResponseHeaders } from './http-exchange.js';
import { respondProblem } from './problem.js';
import type { RequestHead } from './request-head.js';
import type { UwsApp } from './uws.js';

/**
 * Handles one exchange. An async handler must settle only after it responded; a synchronous one
 * must respond before returning. A handler that finishes without answering gets a 500, so no
 * request is left hanging. Errors thrown or rejected become problem responses.
 */
export type RouteHandler = (exchange: HttpExchange) => void | Promise<void>;

/**
 * Answers a refusal or fault on an exchange (false when it can no longer be answered). The default
 * is `respondProblem`; a path prefix may speak another API's error format (see `errorFormat`).
 */
export type ErrorResponder = (
  exchange: HttpExchange,
  error: unknown,
  options?: { headers?: ResponseHeaders },
) => boolean;

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export type RouteMatch =
  | { kind: 'found'; handler: RouteHandler; params: Record<string, string> }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed'; allow: readonly string[] };

export interface RouterOptions {
  /**
   * Called with faults that are not expected outcomes (non-Sluice errors, 500s, handlers that never
   * answered), e.g. to log them. Never called with the request's secrets: it gets the head only.
   */
  onUnexpectedError?: (error: unknown, head: RequestHead | undefined) => void;
}

export interface AttachOptions {
  /**
   * Answers 400 when header names and values together exceed this many bytes. uWS's own header
   * limits are compile-time (see http-server.ts) and depend on TCP segmentation; this one does not.
   */
  maxHeaderBytes?: number | undefined;
}

interface Route {
  /** Path segments; a `:name` segment captures one non-empty segment. */
  readonly segments: readonly string[];
  readonly handlers: Map<string, RouteHandler>;
  readonly pattern: string;
}

/** A small route table: exact segments and `:id` parameters, checked in registration order. */
export class Router {
  private readonly routes: Route[] = [];
  private readonly errorFormats: Array<{ prefix: string; respond: ErrorResponder }> = [];

  constructor(private readonly options: RouterOptions = {}) {}

  /** Registers `handler` for `method` on `pattern` (`/v1/subscriptions/:id`). */
  route(method: HttpMethod, pattern: string, handler: RouteHandler): this {
    if (!pattern.startsWith('/')) throw new Error(`route pattern must start with /, got ${pattern}`);
    let route = this.routes.find((candidate) => candidate.pattern === pattern);
    if (route === undefined) {
      route = { pattern, segments: pattern.split('/').slice(1), handlers: new Map() };
      this.routes.push(route);
    }
    if (route.handlers.has(method)) throw new Error(`route ${method} ${pattern} is registered twice`);
    route.handlers.set(method, handler);
    return this;
  }

  /**
   * Paths at or under `prefix` answer errors the router gives itself (404, 405, oversized headers,
   * a handler that failed or never answered) with `respond` instead of a problem document: an API
   * whose clients expect another error format, such as Confluent's registry API under /registry.
   */
  errorFormat(prefix: string, respond: ErrorResponder): this {
    if (!prefix.startsWith('/') || prefix.endsWith('/')) {
      throw new Error(`error format prefix must start and not end with /, got ${prefix}`);
    }
    this.errorFormats.push({ prefix, respond });
    return this;
  }

  /** The responder for errors at `path`: the first matching prefix's, else problem documents. */
  responderFor(path: string): ErrorResponder {
    const format = this.errorFormats.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`));
    return format?.respond ?? respondProblem;
  }

  /** Every registered method and pattern, in registration order (the OpenAPI document is checked against it). */
  registeredRoutes(): Array<{ method: HttpMethod; pattern: string }> {
    return this.routes.flatMap((route) =>
      [...route.handlers.keys()].map((method) => ({ method: method as HttpMethod, pattern: route.pattern })),
    );
  }

  /** Finds the handler for a method and a raw (percent-encoded) path. */
  match(method: string, path: string): RouteMatch {
    const segments = path.split('/').slice(1);
    const allow: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (params === undefined) continue;
      const handler = route.handlers.get(method);
      if (handler !== undefined) return { kind: 'found', handler, params };
      for (const known of route.handlers.keys()) if (!allow.includes(known)) allow.push(known);
    }
    return allow.length === 0 ? { kind: 'not-found' } : { kind: 'method-not-allowed', allow };
  }

  /** Routes every request of a uWS app through this table. */
  attachTo(app: UwsApp, options: AttachOptions = {}): void {
    const { maxHeaderBytes } = options;
    app.any('/*', (res, req) => {
      let exchange: HttpExchange | undefined;
      try {
        exchange = new HttpExchange(res, req);
        if (maxHeaderBytes !== undefined && exchange.head.headerBytes > maxHeaderBytes) {
          const message = `request headers exceed ${maxHeaderBytes} bytes`;
          this.responderFor(exchange.head.path)(
            exchange,
            new SluiceError('SLUICE_MALFORMED_REQUEST', message, { details: { maxHeaderBytes } }),
          );
          return;
        }
        this.dispatch(exchange);
      } catch (error) {
        // Never let an exception escape into uWS: it would terminate the process.
        this.reportUnexpected(error, exchange?.head);
        try {
          if (exchange === undefined) res.close();
          else if (exchange.open) this.responderFor(exchange.head.path)(exchange, error);
        } catch {
          // The connection is already gone.
        }
      }
    });
  }

  /** Runs the matching handler for an exchange and turns its failures into problem responses. */
  dispatch(exchange: HttpExchange): void {
    const { head } = exchange;
    let outcome: void | Promise<void>;
    try {
      const match = this.match(head.method, head.path);
      if (match.kind === 'not-found') {
        throw new SluiceError('SLUICE_NOT_FOUND', `no resource at ${head.path}`);
      }
      if (match.kind === 'method-not-allowed') {
        const allow = match.allow.join(', ');
        this.responderFor(head.path)(
          exchange,
          new SluiceError('SLUICE_METHOD_NOT_ALLOWED', `${head.method} is not allowed here; use ${allow}`),
          { headers: { allow } },
        );
        return;
      }
      exchange.params = decodeParams(match.params);
      outcome = match.handler(exchange);
    } catch (error) {
      this.guard(exchange, () => this.fail(exchange, error));
      return;
    } finally {
      exchange.endSynchronousPhase();
    }
    if (outcome instanceof Promise) {
      outcome.then(
        () => this.guard(exchange, () => this.ensureAnswered(exchange)),
        (error: unknown) => this.guard(exchange, () => this.fail(exchange, error)),
      );
    } else {
      this.guard(exchange, () => this.ensureAnswered(exchange));
    }
  }

  /**
   * Runs a settlement step. A throw inside a promise callback would become an unhandled rejection,
   * which terminates Node by default: one bad request must never do that.
   */
  private guard(exchange: HttpExchange, step: () => void): void {
    try {
      step();
    } catch (error) {
      this.reportUnexpected(error, exchange.head);
      try {
        exchange.destroy();
      } catch {
        // The connection is already gone.
      }
    }
  }

  private ensureAnswered(exchange: HttpExchange): void {
    if (!exchange.open) return;
    const error = new SluiceError(
      'SLUICE_INTERNAL',
      `handler for ${exchange.head.method} ${exchange.head.path} finished without responding`,
    );
    this.reportUnexpected(error, exchange.head);
    this.responderFor(exchange.head.path)(exchange, error);
  }

  private fail(exchange: HttpExchange, error: unknown): void {
    // After an abort nobody is listening; the abort itself is an expected outcome.
    if (exchange.aborted && isRequestAborted(error)) return;
    if (!(error instanceof SluiceError) || (error.status >= 500 && error.status !== 503)) {
      this.reportUnexpected(error, exchange.head);
    }
    this.responderFor(exchange.head.path)(exchange, error);
  }

  private reportUnexpected(error: unknown, head: RequestHead | undefined): void {
    try {
      this.options.onUnexpectedError?.(error, head);
    } catch {
      // A failing reporter must not turn one bad request into a crashed process.
    }
  }
}

export function createRouter(options: RouterOptions = {}): Router {
  return new Router(options);
}

/** Raw captures per pattern segment, or undefined when the path does not fit the pattern. */
function matchSegments(
  pattern: readonly string[],
  path: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  let params: Record<string, string> | undefined;
  for (let index = 0; index < pattern.length; index += 1) {
    const expected = pattern[index] as string;
    const actual = path[index] as string;
    if (expected.startsWith(':')) {
      if (actual === '') return undefined;
      params ??= {};
      params[expected.slice(1)] = actual;
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return params ?? {};
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    try {
      decoded[name] = decodeURIComponent(value);
    } catch (cause) {
      const message = `path parameter ${name} is not valid percent-encoding`;
      throw new SluiceError('SLUICE_MALFORMED_REQUEST', message, { cause });
    }
  }
  return decoded;
}
