import { expect } from 'vitest';
import { send, type HttpAnswer } from '../gateway/ingest-client.js';

// Helpers of the event type API suites: requests to /v1/event-types over real sockets, and schemas
// of test types.

/** An Avro record schema of a test type: `id` and `carrier`, plus `extra` fields. */
export function shipmentSchema(
  name: string,
  extra: Array<Record<string, unknown>> = [],
  namespace = 'dev.sluice.test',
): Record<string, unknown> {
  return {
    type: 'record',
    name,
    namespace,
    doc: `Test event ${name}.`,
    fields: [{ name: 'id', type: 'string' }, { name: 'carrier', type: 'string' }, ...extra],
  };
}

/** POST /v1/event-types as JSON. */
export function registerType(
  baseUrl: string,
  apiKey: string | undefined,
  body: unknown,
): Promise<HttpAnswer> {
  return send(baseUrl, {
    method: 'POST',
    path: '/v1/event-types',
    apiKey,
    contentType: 'application/json',
    body,
  });
}

/** GET /v1/event-types/{type}. */
export function getType(baseUrl: string, apiKey: string | undefined, type: string): Promise<HttpAnswer> {
  return send(baseUrl, { method: 'GET', path: `/v1/event-types/${type}`, apiKey });
}

/** Asserts a 201 (or `status`) registration answer and returns its schema id. */
export function expectRegistered(answer: HttpAnswer, type: string, version: number, status = 201): number {
  expect({ status: answer.status, body: answer.json }, answer.text).toMatchObject({
    status,
    body: { type, version, created: status === 201, schemaId: expect.any(Number) },
  });
  return (answer.json as { schemaId: number }).schemaId;
}

/** Posts a Sluice-envelope event of `type` with `data` to POST /v1/events. */
export function postTypedEvent(
  baseUrl: string,
  apiKey: string,
  type: string,
  data: Record<string, unknown>,
  id?: string,
): Promise<HttpAnswer> {
  return send(baseUrl, {
    apiKey,
    contentType: 'application/json',
    body: { type, key: 'shipment-1', ...(id === undefined ? {} : { id }), data },
  });
}
