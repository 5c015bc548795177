// The wire forms of the ingest API: what to POST for one event or a batch, in each format the
// gateway reads, independent of the HTTP client (k6 `http.post`, undici, fetch). Loaded as-is by k6
// and Node, so it follows the rules of payloads.ts: type imports only, nothing host-specific.

import type { EventData, SluiceEvent } from './payloads.ts';

/** One HTTP request to the ingest API; add `authorization: Bearer <key>` to `headers`. */
export interface IngestRequest {
  method: 'POST';
  /** `/v1/events` or `/v1/events/batch`; append to the gateway's base URL. */
  path: string;
  headers: Record<string, string>;
  body: string;
  /** How many events the body holds (rate limits count events, not requests). */
  eventCount: number;
}

export type SingleFormat = 'json' | 'cloudevents' | 'cloudevents-binary';
export type BatchFormat = 'json' | 'ndjson' | 'cloudevents';
export const singleFormats: readonly SingleFormat[] = ['json', 'cloudevents', 'cloudevents-binary'];
export const batchFormats: readonly BatchFormat[] = ['json', 'ndjson', 'cloudevents'];

export interface CloudEventOptions {
  /** CloudEvents `source`. Default `/sluice/load-tests`. */
  source?: string;
  /**
   * CloudEvents `time`. Absent by default, so the gateway stamps the time it received the event and
   * end-to-end latency is measured from there; pass one only when that is what you want.
   */
  time?: string;
}

/** CloudEvents 1.0 structured form; the partition key travels in the `partitionkey` extension. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  datacontenttype: 'application/json';
  partitionkey: string;
  time?: string;
  data: EventData;
}

const defaultSource = '/sluice/load-tests';

/** Exactly the envelope fields, so nothing else a caller attached can reach the gateway. */
export function toSluiceEnvelope(event: SluiceEvent): SluiceEvent {
  return { type: event.type, key: event.key, id: event.id, data: event.data };
}

export function toCloudEvent(event: SluiceEvent, options: CloudEventOptions = {}): CloudEvent {
  const cloudEvent: CloudEvent = {
    specversion: '1.0',
    id: event.id,
    source: options.source ?? defaultSource,
    type: event.type,
    datacontenttype: 'application/json',
    partitionkey: event.key,
    data: event.data,
  };
  if (options.time !== undefined) cloudEvent.time = options.time;
  return cloudEvent;
}

export function singleEventRequest(
  event: SluiceEvent,
  format: SingleFormat = 'json',
  options: CloudEventOptions = {},
): IngestRequest {
  const request = (headers: Record<string, string>, body: string): IngestRequest => ({
    method: 'POST',
    path: '/v1/events',
    headers,
    body,
    eventCount: 1,
  });
  switch (format) {
    case 'json':
      return request({ 'content-type': 'application/json' }, JSON.stringify(toSluiceEnvelope(event)));
    case 'cloudevents':
      return request(
        { 'content-type': 'application/cloudevents+json' },
        JSON.stringify(toCloudEvent(event, options)),
      );
    case 'cloudevents-binary': {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': event.id,
        'ce-source': options.source ?? defaultSource,
        'ce-type': event.type,
        'ce-partitionkey': event.key,
      };
      if (options.time !== undefined) headers['ce-time'] = options.time;
      return request(headers, JSON.stringify(event.data));
    }
    default:
      throw new RangeError(`format must be one of ${singleFormats.join(', ')}, got ${String(format)}`);
  }
}

export function batchRequest(
  events: readonly SluiceEvent[],
  format: BatchFormat = 'json',
  options: CloudEventOptions = {},
): IngestRequest {
  const request = (contentType: string, body: string): IngestRequest => ({
    method: 'POST',
    path: '/v1/events/batch',
    headers: { 'content-type': contentType },
    body,
    eventCount: events.length,
  });
  switch (format) {
    case 'json':
      return request('application/json', JSON.stringify(events.map(toSluiceEnvelope)));
    case 'ndjson':
      return request(
        'application/x-ndjson',
        events.map((event) => `${JSON.stringify(toSluiceEnvelope(event))}\n`).join(''),
      );
    case 'cloudevents':
      return request(
        'application/cloudevents-batch+json',
        JSON.stringify(events.map((event) => toCloudEvent(event, options))),
      );
    default:
      throw new RangeError(`format must be one of ${batchFormats.join(', ')}, got ${String(format)}`);
  }
}
