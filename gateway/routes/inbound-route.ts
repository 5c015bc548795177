import { isSluiceError, SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { Admission, AdmissionKey, Refused } from '../admission/admission.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import { readBody } from '../http/body-reader.js';
import { isRequestAborted, type HttpExchange } from '../http/http-exchange.js';
import type { RouteHandler } from '../http/router.js';
import { routeAnswers } from './route-answers.js';
import { deriveInboundEvent, providerHeaders } from '../inbound/derive-inbound-event.js';
import type { InboundMetrics, InboundRefusal } from '../inbound/inbound-metrics.js';
import { inboundEventId, type InboundWebhookData } from '../inbound/inbound-record.js';
import { verifyRequest } from '../inbound/schemes/verify-request.js';
import { ingestEvents, type IngestContext } from '../ingest/ingest-events.js';
import type { EventEncoder } from '../../schemas/index.js';
import { isSourceId, sourceLimits, type SourceBodyLimit } from '../sources/source-input.js';
import { activeSourceSecrets, type Source } from '../sources/source.js';

export interface InboundRouteDeps {
  sources: { get(id: string): Source | undefined };
  admission: Admission;
  metrics: Pick<GatewayMetrics, 'requests' | 'requestDuration'>;
  inboundMetrics: InboundMetrics;
  logger: Logger;
  /** The ingest path's idempotency store, publisher and topic choice, shared with /v1/events. */
  ingest: Pick<IngestContext, 'topicFor' | 'idempotency' | 'publisher'>;
  /** Encodes with the registered `sluice.inbound_webhook` schema. */
  encode: EventEncoder;
  /** Resolves once the registry view holds the record type (registering it if no one has). */
  ensureRecordType: () => Promise<void>;
  nowMs: () => number;
  accepting: () => boolean;
  inFlight: { enter(): void; leave(): void };
  /**
   * What this gateway can write; a source stored with a larger maxBodyBytes (by a gateway with a
   * larger SLUICE_PRODUCE_MAX_BATCH_BYTES) gets 413 above it rather than a write Kafka refuses.
   */
  bodyLimit: SourceBodyLimit;
}

const route = '/in/:id';

/**
 * `POST /in/{sourceId}`: a third party's webhook. No API key: the source's scheme verifies the
 * exact bytes received before anything is parsed. Order by cost: the source and load shedding from
 * the head, the body (bounded by the source's maxBodyBytes), verification, the source's rate limit
 * (only verified requests spend its tokens, so forged traffic cannot starve the real provider),
 * then the ingest path's deduplication and Kafka write: 202 only after Kafka acknowledged.
 */
export function createInboundRoute(deps: InboundRouteDeps): RouteHandler {
  const { inboundMetrics, logger } = deps;

  const { answer, answerProblem } = routeAnswers(deps.metrics, route, (error) =>
    logger.error({ err: error, route }, 'inbound request failed unexpectedly'),
  );
  const refuse = (
    exchange: HttpExchange,
    startedNs: bigint,
    sourceLabel: string,
    reason: InboundRefusal,
    error: unknown,
    headers: Readonly<Record<string, string>> = {},
  ): void | Promise<void> => {
    inboundMetrics.refused.inc({ source: sourceLabel, reason });
    return answerProblem(exchange, startedNs, error, headers);
  };

  return (exchange) => {
    const startedNs = process.hrtime.bigint();
    // Everything up to readBody runs synchronously: uWS drops body chunks that arrive before it.
    if (!deps.accepting()) {
      return refuse(
        exchange,
        startedNs,
        'unknown',
        'other',
        new SluiceError('SLUICE_SHUTTING_DOWN', 'the gateway is shutting down', { retryAfterSeconds: 1 }),
      );
    }
    const id = exchange.params.id ?? '';
    const source = isSourceId(id) ? deps.sources.get(id) : undefined;
    if (source === undefined) {
      return refuse(
        exchange,
        startedNs,
        'unknown',
        'unknown-source',
        new SluiceError('SLUICE_NOT_FOUND', `no inbound source ${id.slice(0, 64)}`),
      );
    }
    inboundMetrics.received.inc({ source: source.id });
    if (!source.enabled) {
      logger.info({ sourceId: source.id, reason: 'disabled' }, 'inbound webhook refused');
      return refuse(
        exchange,
        startedNs,
        source.id,
        'disabled',
        new SluiceError('SLUICE_SOURCE_DISABLED', `source ${source.id} is disabled`),
      );
    }
    const key: AdmissionKey = {
      id: source.id,
      priority: source.priority,
      ratePerSecond: source.ratePerSecond,
      burst: source.burst,
    };
    const head = deps.admission.admitHead(key);
    if (!head.admitted) return refuseAdmission(exchange, startedNs, source, head);
    const headers = exchange.head.headers;
    const contentType = headers['content-type'] ?? '';
    const body = readBody(exchange, {
      maxBodyBytes: Math.min(source.maxBodyBytes, deps.bodyLimit.maxBodyBytes),
    });
    deps.inFlight.enter();
    return handle(exchange, startedNs, source, key, headers, contentType, body).finally(() =>
      deps.inFlight.leave(),
    );
  };

  function refuseAdmission(exchange: HttpExchange, startedNs: bigint, source: Source, refused: Refused) {
    const reason: InboundRefusal = refused.error.code === 'SLUICE_OVERLOADED' ? 'shed' : 'rate-limited';
    return refuse(exchange, startedNs, source.id, reason, refused.error, refused.headers);
  }

  async function handle(
    exchange: HttpExchange,
    startedNs: bigint,
    source: Source,
    key: AdmissionKey,
    headers: Readonly<Record<string, string>>,
    contentType: string,
    bodyPromise: Promise<Buffer>,
  ): Promise<void> {
    try {
      let body: Buffer;
      try {
        body = await bodyPromise;
      } catch (error) {
        if (isSluiceError(error, 'SLUICE_BODY_TOO_LARGE')) {
          logger.info({ sourceId: source.id, reason: 'body-too-large' }, 'inbound webhook refused');
          await refuse(exchange, startedNs, source.id, 'body-too-large', error);
          return;
        }
        throw error;
      }
      const nowMs = deps.nowMs();
      const verification = verifyRequest(source.verification, {
        body,
        headers,
        secrets: activeSourceSecrets(source, nowMs),
        nowMs,
      });
      if (!verification.ok) {
        // Never the headers or the body: they carry the signature and maybe credentials.
        logger.info({ sourceId: source.id, reason: verification.reason }, 'inbound webhook refused');
        const error = new SluiceError('SLUICE_SIGNATURE_INVALID', signatureDetail(verification.reason), {
          details: { reason: verification.reason },
        });
        await refuse(exchange, startedNs, source.id, verification.reason, error);
        return;
      }
      inboundMetrics.verified.inc({ source: source.id });
      const derived = deriveInboundEvent(source, body, headers);
      if (derived instanceof SluiceError) {
        logger.info(
          { sourceId: source.id, reason: 'invalid-body', field: derived.details.field },
          'inbound webhook refused',
        );
        await refuse(exchange, startedNs, source.id, 'invalid-body', derived);
        return;
      }
      const pending = deps.admission.admitEvents(key, 1);
      const admitted = pending instanceof Promise ? await pending : pending;
      if (!admitted.admitted) {
        await refuseAdmission(exchange, startedNs, source, admitted);
        return;
      }
      await deps.ensureRecordType();
      const eventId = inboundEventId(source.id, derived.providerEventId);
      const data: InboundWebhookData = {
        sourceId: source.id,
        sourceName: source.name,
        providerEventId: derived.providerEventId,
        eventType: derived.type,
        receivedAt: new Date(nowMs).toISOString(),
        contentType,
        headers: providerHeaders(source, headers),
        body,
      };
      const [result] = await ingestEvents(
        [
          {
            ok: true,
            event: {
              id: eventId,
              type: derived.type,
              key: derived.providerEventId,
              time: undefined,
              source: `/sources/${source.id}`,
              // Inbound sources are not bound to a tenant: their events reach global subscriptions.
              tenant: undefined,
              data,
            },
          },
        ],
        {
          ...deps.ingest,
          producerId: source.id,
          tenant: undefined,
          isTypeAllowed: () => true,
          encode: deps.encode,
          maxEventBytes: source.maxBodyBytes + sourceLimits.recordOverheadBytes,
          nowMs: deps.nowMs,
          onDuplicate: () => inboundMetrics.duplicates.inc({ source: source.id }),
          onAccepted: (_type, count) => inboundMetrics.accepted.inc({ source: source.id }, count),
          onRejected: () => undefined,
        },
      );
      if (result === undefined || result.error !== undefined) {
        const error = result?.error ?? new SluiceError('SLUICE_INTERNAL', 'no result for an inbound webhook');
        const reason: InboundRefusal = error.code === 'SLUICE_IDEMPOTENCY_IN_FLIGHT' ? 'in-flight' : 'other';
        await refuse(exchange, startedNs, source.id, reason, error, admitted.headers);
        return;
      }
      const reply = JSON.stringify({
        id: result.id,
        status: 'accepted',
        ...(result.duplicate ? { duplicate: true } : {}),
      });
      answer(exchange, startedNs, 202, { ...admitted.headers, 'content-type': 'application/json' }, reply);
    } catch (error) {
      if (isRequestAborted(error)) return;
      const reason: InboundRefusal = isSluiceError(error, 'SLUICE_KAFKA_UNAVAILABLE')
        ? 'kafka-unavailable'
        : 'other';
      await refuse(exchange, startedNs, source.id, reason, error);
    }
  }
}

function signatureDetail(reason: string): string {
  switch (reason) {
    case 'missing-signature':
      return 'the request carries no signature or credentials for this source';
    case 'malformed-signature':
      return 'the signature header is malformed';
    case 'stale-timestamp':
      return 'the signed timestamp is outside the tolerance of this source';
    default:
      return 'the signature does not match the body with any secret of this source';
  }
}
