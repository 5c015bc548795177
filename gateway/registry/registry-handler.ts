import { isSluiceError, SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { RegistryError } from '../../schemas/registry/registry-error.js';
import type { RegistryMetrics, refusalReasons } from '../../schemas/registry/registry-metrics.js';
import type { SchemaRegistry } from '../../schemas/registry/schema-registry.js';
import type { ApiKeyRecord, ApiKeyStore, AuthScheme } from '../auth/api-key-store.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import { readBody } from '../http/body-reader.js';
import { isRequestAborted, type HttpExchange } from '../http/http-exchange.js';
import type { RouteHandler } from '../http/router.js';
import { registryContentType, registryErrorResponse } from './registry-error-response.js';
import { parseBody } from './registry-request.js';

export interface RegistryRouteDeps {
  registry: SchemaRegistry;
  apiKeys: ApiKeyStore;
  logger: Logger;
  metrics?: RegistryMetrics | undefined;
  requestMetrics?: Pick<GatewayMetrics, 'requests' | 'requestDuration'> | undefined;
  /** Largest request body, default 512 KiB: room for the largest schema (256 KiB) JSON-escaped. */
  maxBodyBytes?: number | undefined;
  /** False once shutdown began: new requests are refused with 503. */
  accepting?: (() => boolean) | undefined;
  /** Counts requests in flight, so shutdown waits for a registration before stopping the registry. */
  inFlight?: { enter(): void; leave(): void } | undefined;
}

/** `read`: any valid API key. `write` (register, config, delete): admin keys only. */
export type RegistryAccess = 'read' | 'write';

export interface RegistryContext {
  exchange: HttpExchange;
  key: ApiKeyRecord;
  query: URLSearchParams;
  /** The JSON object body of routes that read one; empty otherwise. */
  body: Record<string, unknown>;
}

/** The JSON an action answers (status 200 unless given). */
export interface RegistryReply {
  status?: number;
  body: unknown;
}

export type RegistryAction = (context: RegistryContext) => RegistryReply | Promise<RegistryReply>;

export const defaultRegistryMaxBodyBytes = 512 * 1024;
/** Confluent's clients send HTTP Basic (`basic.auth.user.info`); Bearer works as on /v1. */
const registrySchemes: readonly AuthScheme[] = ['basic', 'bearer'];

/** The refusal reasons of `sluice_schema_registry_refusals_total`, each series created at zero. */
export type RefusalReason = (typeof refusalReasons)[number];

/**
 * One /registry route: shutting down (503), authentication (401), the admin check for writes
 * (403) and the body read happen synchronously, before the first `await` (uWS drops body chunks
 * that arrive before `readBody`). Every expected refusal is answered in Confluent's format,
 * counted by reason and logged in one line (producer id, never the key); faults go to the router,
 * which logs them and answers 500.
 */
export function createRegistryHandler(
  deps: RegistryRouteDeps,
  route: string,
  access: RegistryAccess,
  readsBody: boolean,
  action: RegistryAction,
): RouteHandler {
  const maxBodyBytes = deps.maxBodyBytes ?? defaultRegistryMaxBodyBytes;

  const record = (startedNs: bigint, status: number) => {
    deps.requestMetrics?.requests.inc({ route, status: String(status) });
    deps.requestMetrics?.requestDuration.observe(
      { route },
      Number(process.hrtime.bigint() - startedNs) / 1e9,
    );
  };
  const refuse = (exchange: HttpExchange, startedNs: bigint, error: unknown, key?: ApiKeyRecord) => {
    const response = registryErrorResponse(error);
    const reason = refusalReason(error);
    deps.metrics?.refusals.inc({ reason });
    const entry = {
      method: exchange.head.method,
      route,
      status: response.status,
      errorCode: response.body.error_code,
      reason,
      producerId: key?.producerId,
      detail: isSluiceError(error) ? error.details.reason : undefined,
    };
    if (reason === 'unauthorized' || reason === 'forbidden')
      deps.logger.warn(entry, 'registry request refused');
    else deps.logger.info(entry, 'registry request refused');
    if (exchange.respond(response.status, response.headers, JSON.stringify(response.body))) {
      record(startedNs, response.status);
    }
  };

  return (exchange) => {
    const startedNs = process.hrtime.bigint();
    if (deps.accepting?.() === false) {
      const error = new SluiceError('SLUICE_SHUTTING_DOWN', 'The gateway is shutting down', {
        retryAfterSeconds: 1,
      });
      refuse(exchange, startedNs, error);
      return;
    }
    const key = deps.apiKeys.authenticate(exchange.head.headers.authorization, registrySchemes);
    if (key instanceof SluiceError) {
      refuse(exchange, startedNs, key);
      return;
    }
    if (access === 'write' && key.role !== 'admin') {
      const error = new SluiceError(
        'SLUICE_FORBIDDEN',
        'Changing the registry (register, config, delete) needs an admin API key; this key may only read',
      );
      refuse(exchange, startedNs, error, key);
      return;
    }
    const { head } = exchange;
    const query = new URLSearchParams(head.query);
    const bodyPromise = readsBody ? readBody(exchange, { maxBodyBytes }) : undefined;
    deps.inFlight?.enter();
    const run = async () => {
      try {
        const body =
          bodyPromise === undefined ? {} : parseBody(head.headers['content-type'], await bodyPromise);
        const reply = await action({ exchange, key, query, body });
        const status = reply.status ?? 200;
        if (exchange.respond(status, { 'content-type': registryContentType }, JSON.stringify(reply.body))) {
          record(startedNs, status);
        }
      } catch (error) {
        if (isRequestAborted(error)) return;
        if (!isExpected(error)) throw error;
        refuse(exchange, startedNs, error, key);
      }
    };
    return run().finally(() => deps.inFlight?.leave());
  };
}

/** Refusals the client caused; anything else is a fault for the router to log and answer 500. */
function isExpected(error: unknown): boolean {
  if (error instanceof RegistryError) return error.status < 500 || error.kind === 'OPERATION_TIMEOUT';
  return isSluiceError(error) && error.status !== 500;
}

export function refusalReason(error: unknown): RefusalReason {
  if (error instanceof RegistryError) {
    switch (error.kind) {
      case 'INCOMPATIBLE_SCHEMA':
        return 'incompatible';
      case 'INVALID_SCHEMA':
        return 'invalid-schema';
      case 'INVALID_SUBJECT':
        return 'invalid-subject';
      case 'SUBJECT_NOT_FOUND':
      case 'VERSION_NOT_FOUND':
      case 'SCHEMA_NOT_FOUND':
      case 'SUBJECT_SOFT_DELETED':
      case 'SUBJECT_CONFIG_NOT_FOUND':
        return 'not-found';
      default:
        return 'other';
    }
  }
  if (isSluiceError(error, 'SLUICE_UNAUTHENTICATED')) return 'unauthorized';
  if (isSluiceError(error, 'SLUICE_FORBIDDEN')) return 'forbidden';
  return 'other';
}
