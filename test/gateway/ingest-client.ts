import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, type Dispatcher } from 'undici';
import { expect } from 'vitest';
import { decodeEvent } from '../../schemas/event-codec.js';
import { loadSchemaCatalog, type RegisteredSchema } from '../../schemas/schema-catalog.js';
import { readWireHeader } from '../../schemas/wire-format.js';
import { prepareGateway, type TestGatewaySetup, type TestKeySpec } from '../support/gateway-fixture.js';
import type { ReadRecord } from '../support/kafka-fixture.js';

// Helpers shared by the gateway ingest suites: plain HTTP over real sockets (undici), and reading
// what the gateway wrote back from Kafka with the registered schemas.

export const catalog = loadSchemaCatalog();

/** The committed valid `data` of a type (schemas/fixtures/<type>/v<N>.json), newest version by default. */
export function fixtureData(type: string, version?: number): Record<string, unknown> {
  const latest = catalog.latest(type);
  if (latest === undefined) throw new Error(`no schema for ${type}`);
  const file = join(catalog.dir ?? '', 'fixtures', type, `v${version ?? latest.version}.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

export function latestSchema(type: string): RegisteredSchema {
  const schema = catalog.latest(type);
  if (schema === undefined) throw new Error(`no schema for ${type}`);
  return schema;
}

/** An event id no other test uses. */
export function uniqueEventId(prefix = 'evt'): string {
  return `${prefix}-${randomUUID()}`;
}

/** A valid Sluice-envelope event (order.created with its fixture) with a fresh id. */
export function validEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'order.created',
    key: 'order-1001',
    id: uniqueEventId(),
    time: '2026-11-27T09:30:00Z',
    data: fixtureData('order.created'),
    ...overrides,
  };
}

/**
 * A gateway setup for these suites. Event-loop-delay shedding is switched off: on the shared
 * two-core test machine a GC pause in the vitest process (which also runs the gateway) could shed
 * a request and fail an unrelated assertion. Load shedding has its own suite.
 */
export function prepareIngestGateway(
  keys: TestKeySpec[] = [{ producerId: 'shop-eu' }],
  envOverrides: Record<string, string> = {},
): Promise<TestGatewaySetup> {
  return prepareGateway(keys, {
    SLUICE_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    SLUICE_SHED_MAX_QUEUE_DELAY_MS: '0',
    // Idempotency fails open when Redis is slower than this; a loaded two-core machine can stall a
    // Redis round trip past the 100 ms default, and these tests are about the checks, not outages.
    SLUICE_REDIS_TIMEOUT_MS: '2s',
    ...envOverrides,
  });
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface SendOptions {
  method?: Dispatcher.HttpMethod;
  path?: string;
  /** Sent as `Authorization: Bearer <apiKey>` unless `authorization` is given. */
  apiKey?: string;
  authorization?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as is; anything else as JSON. */
  body?: unknown;
  dispatcher?: Dispatcher;
}

/** One HTTP request; the answer fully read. */
export async function send(baseUrl: string, options: SendOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const body =
    options.body === undefined || typeof options.body === 'string' || Buffer.isBuffer(options.body)
      ? options.body
      : JSON.stringify(options.body);
  const response = await request(`${baseUrl}${options.path ?? '/v1/events'}`, {
    method: options.method ?? 'POST',
    headers,
    body,
    dispatcher: options.dispatcher,
  });
  return readAnswer(response);
}

export async function readAnswer(response: Dispatcher.ResponseData): Promise<HttpAnswer> {
  const text = await response.body.text();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers, text, json };
}

/** Posts one event to POST /v1/events as `application/json`. */
export function postEvent(
  baseUrl: string,
  apiKey: string | undefined,
  event: unknown,
  options: SendOptions = {},
): Promise<HttpAnswer> {
  return send(baseUrl, { apiKey, contentType: 'application/json', body: event, ...options });
}

/** Posts a JSON array to POST /v1/events/batch. */
export function postBatch(
  baseUrl: string,
  apiKey: string | undefined,
  events: unknown[],
  options: SendOptions = {},
): Promise<HttpAnswer> {
  return send(baseUrl, {
    apiKey,
    path: '/v1/events/batch',
    contentType: 'application/json',
    body: events,
    ...options,
  });
}

/** The fields every problem answer carries (RFC 9457 plus Sluice's `code` and details). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [member: string]: unknown;
}

/** Asserts an RFC 9457 problem answer with this status and stable code, and returns its document. */
export function expectProblem(answer: HttpAnswer, status: number, code: string): Problem {
  expect({ status: answer.status, body: answer.text }).toMatchObject({ status });
  expect(answer.headers['content-type']).toBe('application/problem+json');
  const problem = answer.json as Problem;
  expect(problem).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^https:\/\/sluice\.dev\/problems\/[a-z-]+$/),
    title: expect.any(String),
    detail: expect.any(String),
  });
  return problem;
}

/** Asserts a `Retry-After` of whole seconds, at least 1, and returns it. */
export function expectRetryAfter(answer: HttpAnswer): number {
  expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  return Number(answer.headers['retry-after']);
}

/**
 * Posts a fresh valid event and asserts 202: the gateway is still up and unharmed after whatever
 * the test did before. Returns the event id (to look for in Kafka).
 */
export async function expectStillAccepting(baseUrl: string, apiKey: string): Promise<string> {
  const event = validEvent({ id: uniqueEventId('still-ok') });
  const answer = await postEvent(baseUrl, apiKey, event);
  expect({ status: answer.status, body: answer.json }).toEqual({
    status: 202,
    body: { id: event.id, status: 'accepted' },
  });
  return event.id as string;
}

export interface DecodedRecord {
  key: string | null;
  headers: Record<string, string>;
  /** From the Confluent wire header of the value. */
  schemaId: number;
  type: string;
  version: number;
  data: Record<string, unknown>;
  partition: number;
}

/** Decodes a record value with the catalog; fails the test when it is not a valid Sluice record. */
export function decodeRecord(record: ReadRecord): DecodedRecord {
  expect(record.value).not.toBeNull();
  const value = record.value as Buffer;
  const header = readWireHeader(value);
  if (!header.ok) throw new Error(`record ${record.partition}/${record.offset}: ${header.message}`);
  const decoded = decodeEvent(catalog, value);
  if (!decoded.ok) throw new Error(`record ${record.partition}/${record.offset}: ${decoded.message}`);
  return {
    key: record.key,
    headers: record.headers,
    schemaId: header.schemaId,
    type: decoded.schema.type,
    version: decoded.schema.version,
    data: decoded.data,
    partition: record.partition,
  };
}

/** Records grouped by their `ce_id` header (an id seen twice has two entries). */
export function recordsByEventId(records: readonly ReadRecord[]): Map<string, ReadRecord[]> {
  const byId = new Map<string, ReadRecord[]>();
  for (const record of records) {
    const id = record.headers.ce_id ?? '(none)';
    const list = byId.get(id) ?? [];
    list.push(record);
    byId.set(id, list);
  }
  return byId;
}

export interface ExpectedRecord {
  id: string;
  type: string;
  key: string;
  source: string;
  time: string;
  producer: string;
  data: Record<string, unknown>;
}

/**
 * Asserts that exactly one record carries `expected.id` and that its key, CloudEvents headers,
 * schema id (the newest version of its type, from the wire header) and decoded data all match.
 */
export function expectRecord(records: readonly ReadRecord[], expected: ExpectedRecord): DecodedRecord {
  const matching = records.filter((record) => record.headers.ce_id === expected.id);
  expect(matching, `records with ce_id ${expected.id}`).toHaveLength(1);
  const decoded = decodeRecord(matching[0]!);
  const schema = latestSchema(expected.type);
  expect(decoded.key).toBe(expected.key);
  expect(decoded.headers).toMatchObject({
    ce_specversion: '1.0',
    ce_id: expected.id,
    ce_type: expected.type,
    ce_source: expected.source,
    ce_time: expected.time,
    'content-type': 'application/avro',
    sluice_producer: expected.producer,
  });
  expect(decoded.schemaId).toBe(schema.id);
  expect(decoded.type).toBe(expected.type);
  expect(decoded.version).toBe(schema.version);
  // Fields the fixture leaves out are written with their schema defaults, hence toMatchObject.
  expect(decoded.data).toMatchObject(expected.data);
  return decoded;
}
