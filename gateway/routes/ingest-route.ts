import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { Admission, AdmissionKey, AdmissionOutcome, Refused } from '../admission/admission.js';
import { isEventTypeAllowed, type ApiKeyRecord, type ApiKeyStore } from '../auth/api-key-store.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import { readBody } from '../http/body-reader.js';
import { isRequestAborted, type HttpExchange } from '../http/http-exchange.js';
import type { RouteHandler } from '../http/router.js';
import { routeAnswers } from './route-answers.js';
import { ingestEvents, type IngestContext, type ItemResult } from '../ingest/ingest-events.js';
import { parseBatch, parseSingleEvent, type ParsedItem, type RequestParts } from '../ingest/parse-request.js';

export interface IngestRouteDeps {
  apiKeys: ApiKeyStore;
  /** Load shedding and the per-key rate limit, metrics and logs included. */
  admission: Admission;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Everything `ingestEvents` needs except who is sending. */
  ingest: Omit<IngestContext, 'producerId' | 'tenant' | 'isTypeAllowed'>;
  maxRequestBytes: number;
  maxBatchBytes: number;
  maxBatchEvents: number;
  /** False once shutdown began: new requests are refused with 503. */
  accepting: () => boolean;
  /** Counts requests in flight, so shutdown can wait for them. */
  inFlight: { enter(): void; leave(): void };
}

type Mode = 'single' | 'batch';

const jsonHeaders = { 'content-type': 'application/json' };

/**
 * POST /v1/events and POST /v1/events/batch. Order of checks is by cost: authentication and load
 * shedding from the request head alone, then the body (bounded while streaming), then parsing,
 * the per-event rate limit (a batch of 100 costs 100), validation, deduplication and the Kafka write.
 */
export function createIngestRoute(mode: Mode, deps: IngestRouteDeps): RouteHandler {
  const route = mode === 'single' ? '/v1/events' : '/v1/events/batch';
  const maxBodyBytes = mode === 'single' ? deps.maxRequestBytes : deps.maxBatchBytes;

  const { answer, answerProblem } = routeAnswers(deps.metrics, route, (error) =>
    deps.logger.error({ err: error, route }, 'ingest request failed unexpectedly'),
  );

  return (exchange) => {
    const startedNs = process.hrtime.bigint();
    // Everything up to readBody runs synchronously: uWS drops body chunks that arrive before it.
    if (!deps.accepting()) {
      return answerProblem(
        exchange,
        startedNs,
        new SluiceError('SLUICE_SHUTTING_DOWN', 'the gateway is shutting down', { retryAfterSeconds: 1 }),
      );
    }
    const key = deps.apiKeys.authenticate(exchange.head.headers.authorization);
    if (key instanceof SluiceError) return answerProblem(exchange, startedNs, key);
    const admissionKey: AdmissionKey = {
      id: key.producerId,
      priority: key.priority,
      ratePerSecond: key.ratePerSecond,
      burst: key.burst,
    };
    const head = deps.admission.admitHead(admissionKey);
    if (!head.admitted) return refuse(exchange, startedNs, head);
    const parts = {
      contentType: exchange.head.headers['content-type'] ?? '',
      cloudEventHeaders: cloudEventHeadersOf(exchange.head.headers),
    };
    const body = readBody(exchange, { maxBodyBytes });
    deps.inFlight.enter();
    return handle(exchange, startedNs, key, admissionKey, parts, body).finally(() => deps.inFlight.leave());
  };

  function refuse(exchange: HttpExchange, startedNs: bigint, refused: Refused) {
    return answerProblem(exchange, startedNs, refused.error, refused.headers);
  }

  async function handle(
    exchange: HttpExchange,
    startedNs: bigint,
    key: ApiKeyRecord,
    admissionKey: AdmissionKey,
    head: Omit<RequestParts, 'body'>,
    bodyPromise: Promise<Buffer>,
  ): Promise<void> {
    try {
      const body = await bodyPromise;
      const parts: RequestParts = { ...head, body };
      const items: ParsedItem[] =
        mode === 'single' ? [parseSingleEvent(parts)] : parseBatch(parts, deps.maxBatchEvents);
      // Awaited only when the limiter had to ask Redis: a synchronous decision costs no extra tick.
      const pending = deps.admission.admitEvents(admissionKey, items.length);
      const admitted: AdmissionOutcome = pending instanceof Promise ? await pending : pending;
      if (!admitted.admitted) {
        await refuse(exchange, startedNs, admitted);
        return;
      }
      const results = await ingestEvents(items, {
        ...deps.ingest,
        producerId: key.producerId,
        tenant: key.tenant,
        isTypeAllowed: (type) => isEventTypeAllowed(key, type),
      });
      reportTenantRefusals(key, results);
      if (mode === 'single') answerSingle(exchange, startedNs, results[0]!, admitted.headers);
      else answerBatch(exchange, startedNs, results, admitted.headers);
    } catch (error) {
      if (isRequestAborted(error)) return;
      answerProblem(exchange, startedNs, error);
    }
  }

  /** Another tenant named by a tenant key is worth a metric and a log line: one per request. */
  function reportTenantRefusals(key: ApiKeyRecord, results: readonly ItemResult[]) {
    const refused = results.filter((result) => result.error?.code === 'SLUICE_TENANT_FORBIDDEN');
    if (refused.length === 0) return;
    deps.metrics.tenantRefusals.inc({ route });
    deps.logger.warn(
      {
        route,
        producerId: key.producerId,
        tenant: key.tenant,
        refusedEvents: refused.length,
        named: [...new Set(refused.map((result) => result.error!.details.tenant))].slice(0, 5),
      },
      'events naming another tenant refused',
    );
  }

  function answerSingle(
    exchange: HttpExchange,
    startedNs: bigint,
    result: ItemResult,
    headers: Readonly<Record<string, string>>,
  ) {
    if (result.error) {
      answerProblem(exchange, startedNs, result.error, headers);
      return;
    }
    const body = JSON.stringify({
      id: result.id,
      status: 'accepted',
      ...(result.duplicate ? { duplicate: true } : {}),
    });
    answer(exchange, startedNs, 202, { ...headers, ...jsonHeaders }, body);
  }

  function answerBatch(
    exchange: HttpExchange,
    startedNs: bigint,
    results: ItemResult[],
    headers: Readonly<Record<string, string>>,
  ) {
    const allAccepted = results.every((result) => result.status === 202);
    const body = JSON.stringify({
      accepted: results.filter((result) => result.status === 202).length,
      rejected: results.filter((result) => result.status !== 202).length,
      results: results.map((result) => ({
        index: result.index,
        id: result.id ?? null,
        status: result.status,
        ...(result.duplicate ? { duplicate: true } : {}),
        ...(result.error
          ? { error: { code: result.error.code, detail: result.error.message, ...result.error.details } }
          : {}),
      })),
    });
    answer(exchange, startedNs, allAccepted ? 202 : 207, { ...headers, ...jsonHeaders }, body);
  }
}

function cloudEventHeadersOf(headers: Readonly<Record<string, string>>): Record<string, string> {
  const ce: Record<string, string> = {};
  for (const name in headers) if (name.startsWith('ce-')) ce[name] = headers[name]!;
  return ce;
}
