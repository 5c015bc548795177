import { randomUUID } from 'node:crypto';
import { SluiceError } from '../../common/errors.js';
import type { OutgoingRecord } from '../../common/kafka/index.js';
import { isTenantId, tenantHeader, tenantIdRule } from '../../common/tenant-id.js';
import { isReservedSubject } from '../../schemas/avro-policy.js';
import type { EventEncoder } from '../../schemas/index.js';
import type { CandidateEvent } from './parse-request.js';

export interface PrepareContext {
  producerId: string;
  /**
   * The tenant the API key is bound to: an event without a tenant gets it, one naming another is
   * refused. Undefined: the event's own tenant, if it names one, is kept as it is.
   */
  tenant: string | undefined;
  isTypeAllowed: (type: string) => boolean;
  encode: EventEncoder;
  topicFor: (type: string) => string;
  /** Largest encoded event (`SLUICE_MAX_EVENT_BYTES`, default 256 KiB). */
  maxEventBytes: number;
  nowMs: () => number;
}

export interface PreparedEvent {
  id: string;
  /** Sluice made the id up: it cannot repeat, so no idempotency check is needed. */
  idGenerated: boolean;
  type: string;
  record: OutgoingRecord;
}

export type PrepareResult =
  { ok: true; event: PreparedEvent } | { ok: false; id: string | undefined; error: SluiceError };

const maxIdLength = 128;
const maxTypeLength = 128;
const maxKeyBytes = 1024;
// Printable ASCII without spaces: ids end up in Redis keys, Kafka headers and webhook-id.
const idPattern = /^[\x21-\x7e]+$/;
const typePattern = /^[a-z0-9][a-z0-9_.-]*$/i;
// RFC 3339 date-time (with seconds, optional fraction, Z or offset).
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

// Events without a time get the time they arrived. A batch's events arrive within a millisecond or
// two, so the ISO string is made once per millisecond, not once per event.
let lastNowMs = Number.NaN;
let lastNowIso = '';
function isoTime(ms: number): string {
  if (ms !== lastNowMs) {
    lastNowMs = ms;
    lastNowIso = new Date(ms).toISOString();
  }
  return lastNowIso;
}

const failure = (id: string | undefined, error: SluiceError): PrepareResult => ({ ok: false, id, error });

function invalid(field: string, detail: string): SluiceError {
  return new SluiceError('SLUICE_MALFORMED_REQUEST', detail, { details: { field } });
}

/**
 * Checks one event's envelope, its permission and its schema, and turns it into a Kafka record
 * (CloudEvents Kafka binding, binary mode). Nothing here touches the network.
 */
export function prepareEvent(candidate: CandidateEvent, context: PrepareContext): PrepareResult {
  const idGenerated = candidate.id === undefined || candidate.id === null;
  const id = idGenerated ? randomUUID() : candidate.id;
  const reportedId = typeof id === 'string' ? id : undefined;

  if (typeof id !== 'string' || id.length === 0 || id.length > maxIdLength || !idPattern.test(id)) {
    return failure(
      reportedId,
      invalid('id', `id must be 1 to ${maxIdLength} printable ASCII characters without spaces`),
    );
  }
  const type = candidate.type;
  if (typeof type !== 'string' || type.length > maxTypeLength || !typePattern.test(type)) {
    return failure(reportedId, invalid('type', 'type must be an event type name such as order.created'));
  }
  // Sluice's own types (operational events, the inbound record): only Sluice writes them, so an
  // operator's alerting on sluice.subscription.* cannot be fed forged events.
  if (isReservedSubject(type)) {
    return failure(
      reportedId,
      new SluiceError(
        'SLUICE_EVENT_TYPE_FORBIDDEN',
        `event types under sluice. are Sluice's own: no API key may send ${type}`,
        { details: { type } },
      ),
    );
  }
  if (!context.isTypeAllowed(type)) {
    return failure(
      reportedId,
      new SluiceError('SLUICE_EVENT_TYPE_FORBIDDEN', `this API key may not send events of type ${type}`, {
        details: { type },
      }),
    );
  }
  const tenant = eventTenant(candidate.tenant, context.tenant);
  if (tenant instanceof SluiceError) return failure(reportedId, tenant);
  // The key picks the partition; an event without one is spread by its id.
  const key = candidate.key === undefined || candidate.key === null ? id : candidate.key;
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > maxKeyBytes) {
    return failure(
      reportedId,
      invalid('key', `key must be a non-empty string of at most ${maxKeyBytes} bytes`),
    );
  }
  let time: string;
  if (candidate.time === undefined || candidate.time === null) {
    time = isoTime(context.nowMs());
  } else if (
    typeof candidate.time === 'string' &&
    rfc3339.test(candidate.time) &&
    !Number.isNaN(Date.parse(candidate.time))
  ) {
    time = candidate.time;
  } else {
    return failure(
      reportedId,
      invalid('time', 'time must be an RFC 3339 date-time such as 2026-11-27T09:30:00Z'),
    );
  }
  const source =
    candidate.source === undefined || candidate.source === null
      ? `/producers/${context.producerId}`
      : candidate.source;
  if (typeof source !== 'string' || source.length === 0 || source.length > 1024) {
    return failure(reportedId, invalid('source', 'source must be a non-empty URI-reference'));
  }
  if (candidate.data === undefined) return failure(reportedId, invalid('data', 'data is required'));

  const encoded = context.encode(type, candidate.data);
  if (!encoded.ok) return failure(reportedId, encodeError(type, encoded));
  if (encoded.value.length > context.maxEventBytes) {
    return failure(
      reportedId,
      new SluiceError(
        'SLUICE_EVENT_TOO_LARGE',
        `the event is ${encoded.value.length} bytes encoded; at most ${context.maxEventBytes}`,
        {
          details: { maxEventBytes: context.maxEventBytes },
        },
      ),
    );
  }
  const headers: Record<string, string> = {
    ce_specversion: '1.0',
    ce_id: id,
    ce_type: type,
    ce_source: source,
    ce_time: time,
    'content-type': 'application/avro',
    sluice_producer: context.producerId,
  };
  if (tenant !== undefined) headers[tenantHeader] = tenant;
  return {
    ok: true,
    event: {
      id,
      idGenerated,
      type,
      record: { topic: context.topicFor(type), key, value: encoded.value, headers },
    },
  };
}

/**
 * The tenant the event is written with: the one it names, else the key's. A key bound to a tenant
 * never writes another's event; that refusal is SLUICE_TENANT_FORBIDDEN, checked after the format
 * so a malformed tenant is a 400 whoever sends it.
 */
function eventTenant(named: unknown, keyTenant: string | undefined): string | undefined | SluiceError {
  if (named === undefined || named === null) return keyTenant;
  if (!isTenantId(named)) {
    return invalid('tenant', `tenant must be a tenant id (${tenantIdRule}), or be omitted`);
  }
  if (keyTenant !== undefined && named !== keyTenant) {
    return new SluiceError(
      'SLUICE_TENANT_FORBIDDEN',
      `this API key sends events for tenant ${keyTenant} only, not for tenant ${named}`,
      { details: { field: 'tenant', tenant: named } },
    );
  }
  return named;
}

function encodeError(type: string, encoded: Exclude<ReturnType<EventEncoder>, { ok: true }>): SluiceError {
  // `field` as for every other 422: for an unknown or deprecated type, the part that failed is its type.
  switch (encoded.reason) {
    case 'deprecated':
      return new SluiceError(
        'SLUICE_EVENT_TYPE_DEPRECATED',
        `event type ${type} is deprecated: new events are refused (records already written still decode)`,
        { details: { type, field: 'type' } },
      );
    case 'unknown-type':
      return new SluiceError('SLUICE_UNKNOWN_EVENT_TYPE', `no schema is registered for event type ${type}`, {
        details: { type, field: 'type' },
      });
    case 'invalid':
      return new SluiceError(
        'SLUICE_SCHEMA_INVALID',
        `data does not match the schema of ${type}: ${encoded.message}`,
        {
          details: { type, field: encoded.path },
        },
      );
  }
}
