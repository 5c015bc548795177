import { SluiceError } from '../../common/errors.js';

/** An event as the producer sent it, before validation against its schema. */
export interface CandidateEvent {
  type: unknown;
  id: unknown;
  key: unknown;
  time: unknown;
  source: unknown;
  /** The tenant the event names: `tenant`, the CloudEvents extension `tenantid`, or `ce-tenantid`. */
  tenant: unknown;
  data: unknown;
}

/** One item of a request: a candidate, or why it could not even be read. */
export type ParsedItem = { ok: true; event: CandidateEvent } | { ok: false; error: SluiceError };

export interface RequestParts {
  /** The `content-type` header, lowercased, parameters included. */
  contentType: string;
  /** Every `ce-*` header (lowercased names), for CloudEvents binary mode. */
  cloudEventHeaders: Readonly<Record<string, string>>;
  body: Buffer;
}

const sluiceEnvelopeFields = new Set(['type', 'id', 'key', 'time', 'source', 'tenant', 'data']);

function mediaType(contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

function malformed(detail: string, field?: string): SluiceError {
  return new SluiceError('SLUICE_MALFORMED_REQUEST', detail, field ? { details: { field } } : {});
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw malformed(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{"type","key","id","time","tenant","data"}` — Sluice's own envelope. Unknown fields are refused so typos surface. */
function fromSluiceJson(value: unknown): ParsedItem {
  if (!isObject(value)) return { ok: false, error: malformed('an event must be a JSON object') };
  for (const field of Object.keys(value)) {
    if (!sluiceEnvelopeFields.has(field)) {
      return {
        ok: false,
        error: malformed(
          `unknown envelope field ${field}; expected type, key, id, time, source, tenant, data`,
          field,
        ),
      };
    }
  }
  return {
    ok: true,
    event: {
      type: value.type,
      id: value.id,
      key: value.key,
      time: value.time,
      source: value.source,
      tenant: value.tenant,
      data: value.data,
    },
  };
}

/**
 * CloudEvents 1.0 structured mode; the partition key is the `partitionkey` extension, else
 * `subject`; the tenant is the `tenantid` extension.
 */
function fromCloudEvent(value: unknown): ParsedItem {
  if (!isObject(value)) return { ok: false, error: malformed('a CloudEvent must be a JSON object') };
  if (value.specversion !== '1.0') {
    return { ok: false, error: malformed('specversion must be "1.0"', 'specversion') };
  }
  if ('data_base64' in value) {
    return {
      ok: false,
      error: malformed('data_base64 is not supported: event data must be JSON', 'data_base64'),
    };
  }
  const dataContentType = value.datacontenttype;
  if (dataContentType !== undefined && !/^application\/(.+\+)?json/i.test(String(dataContentType))) {
    return { ok: false, error: malformed('datacontenttype must be application/json', 'datacontenttype') };
  }
  return {
    ok: true,
    event: {
      type: value.type,
      id: value.id,
      key: value.partitionkey ?? value.subject,
      time: value.time,
      source: value.source,
      tenant: value.tenantid,
      data: value.data,
    },
  };
}

/**
 * CloudEvents binary mode. Header values are percent-encoded by the sender wherever an attribute
 * holds more than printable ASCII, and must be decoded first (HTTP binding 1.0.2, §3.1.3.2).
 */
function fromBinaryCloudEvent(headers: Readonly<Record<string, string>>, body: Buffer): ParsedItem {
  if (headers['ce-specversion'] !== '1.0') {
    return { ok: false, error: malformed('ce-specversion must be "1.0"', 'ce-specversion') };
  }
  const attribute = (name: string): string | undefined => {
    const value = headers[name];
    if (value === undefined || !value.includes('%')) return value;
    try {
      return decodeURIComponent(value);
    } catch {
      throw malformed(`${name} is not valid percent-encoded UTF-8`, name);
    }
  };
  return {
    ok: true,
    event: {
      type: attribute('ce-type'),
      id: attribute('ce-id'),
      key: attribute('ce-partitionkey') ?? attribute('ce-subject'),
      time: attribute('ce-time'),
      source: attribute('ce-source'),
      tenant: attribute('ce-tenantid'),
      data: parseJson(body, 'the body (CloudEvents binary mode data)'),
    },
  };
}

function unsupported(contentType: string, allowed: string): SluiceError {
  return new SluiceError(
    'SLUICE_UNSUPPORTED_MEDIA_TYPE',
    `content type ${JSON.stringify(contentType || '(none)')} is not accepted here; use ${allowed}`,
  );
}

/** `POST /v1/events`: exactly one event. Throws for request-level faults (400, 415). */
export function parseSingleEvent(parts: RequestParts): ParsedItem {
  const type = mediaType(parts.contentType);
  if (type === 'application/json' && parts.cloudEventHeaders['ce-specversion'] !== undefined) {
    return fromBinaryCloudEvent(parts.cloudEventHeaders, parts.body);
  }
  if (type === 'application/json') return fromSluiceJson(parseJson(parts.body, 'the body'));
  if (type === 'application/cloudevents+json') return fromCloudEvent(parseJson(parts.body, 'the body'));
  throw unsupported(
    parts.contentType,
    'application/json, application/cloudevents+json, or CloudEvents binary mode',
  );
}

/** `POST /v1/events/batch`: a JSON array, NDJSON, or a CloudEvents batch. */
export function parseBatch(parts: RequestParts, maxBatchEvents: number): ParsedItem[] {
  const type = mediaType(parts.contentType);
  let items: ParsedItem[];
  if (type === 'application/x-ndjson') {
    items = parseNdjson(parts.body, maxBatchEvents);
  } else if (type === 'application/json' || type === 'application/cloudevents-batch+json') {
    const value = parseJson(parts.body, 'the body');
    if (!Array.isArray(value)) throw malformed('a batch must be a JSON array of events');
    checkBatchSize(value.length, maxBatchEvents);
    items = value.map(type === 'application/json' ? fromSluiceJson : fromCloudEvent);
  } else {
    throw unsupported(
      parts.contentType,
      'application/json (an array), application/x-ndjson or application/cloudevents-batch+json',
    );
  }
  if (items.length === 0) throw malformed('the batch has no events');
  return items;
}

function checkBatchSize(count: number, maxBatchEvents: number): void {
  if (count > maxBatchEvents) {
    throw new SluiceError(
      'SLUICE_BATCH_TOO_LARGE',
      `a batch holds at most ${maxBatchEvents} events, got ${count}`,
      {
        details: { maxBatchEvents },
      },
    );
  }
}

/** One event per line; a line that is not JSON fails alone, the others still count. */
function parseNdjson(body: Buffer, maxBatchEvents: number): ParsedItem[] {
  const lines = body
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  checkBatchSize(lines.length, maxBatchEvents);
  return lines.map((line, index) => {
    try {
      return fromSluiceJson(JSON.parse(line));
    } catch (error) {
      return {
        ok: false,
        error: malformed(`line ${index + 1} is not valid JSON: ${(error as Error).message}`),
      };
    }
  });
}
