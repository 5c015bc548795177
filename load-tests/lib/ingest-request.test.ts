import { describe, expect, it } from 'vitest';
import { parseBatch, parseSingleEvent, type ParsedItem } from '../../gateway/ingest/parse-request.js';
import {
  batchFormats,
  batchRequest,
  singleEventRequest,
  singleFormats,
  type IngestRequest,
} from './ingest-request.js';
import { createPayloadFactory, eventTypes, type SluiceEvent } from './payloads.js';
import { readFixtures } from './read-fixtures.js';

/** What the gateway's own parser reads from a request built here. */
function parse(request: IngestRequest): ParsedItem[] {
  const parts = {
    contentType: request.headers['content-type'] ?? '',
    cloudEventHeaders: Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => name.startsWith('ce-')),
    ),
    body: Buffer.from(request.body, 'utf8'),
  };
  return request.path === '/v1/events' ? [parseSingleEvent(parts)] : parseBatch(parts, 1000);
}

describe('wire forms', () => {
  const factory = createPayloadFactory({ fixtures: readFixtures(), seed: 9 });
  const events: SluiceEvent[] = eventTypes.map((type, index) =>
    factory.build(type, { vu: 1, iteration: index }),
  );
  const expectRead = (items: ParsedItem[], sent: readonly SluiceEvent[]) => {
    expect(items).toHaveLength(sent.length);
    items.forEach((item, i) => {
      if (!item.ok) throw item.error;
      const { type, id, key, data } = sent[i]!;
      expect(item.event).toMatchObject({ type, id, key, data });
    });
  };

  it('sends exactly the Sluice envelope fields as application/json', () => {
    const event = { ...events[0]!, extra: 'never sent' };
    const request = singleEventRequest(event, 'json');
    expect(Object.keys(JSON.parse(request.body))).toEqual(['type', 'key', 'id', 'data']);
    expect(request).toMatchObject({ method: 'POST', path: '/v1/events', eventCount: 1 });
  });

  it.each(singleFormats)('reads back each event sent singly as %s through the gateway parser', (format) => {
    for (const event of events) expectRead(parse(singleEventRequest(event, format)), [event]);
  });

  it.each(batchFormats)('reads back a %s batch through the gateway parser, in order', (format) => {
    const request = batchRequest(events, format);
    expect(request).toMatchObject({ path: '/v1/events/batch', eventCount: events.length });
    expectRead(parse(request), events);
  });

  it('writes CloudEvents with the key as partitionkey and no time unless asked', () => {
    const structured = JSON.parse(singleEventRequest(events[0]!, 'cloudevents').body);
    expect(structured).toMatchObject({ specversion: '1.0', partitionkey: events[0]!.key });
    expect(structured).not.toHaveProperty('time');
    const binary = singleEventRequest(events[0]!, 'cloudevents-binary', {
      source: '/shops/eu',
      time: '2026-11-27T09:00:00Z',
    });
    expect(binary.headers).toMatchObject({
      'ce-source': '/shops/eu',
      'ce-time': '2026-11-27T09:00:00Z',
      'ce-partitionkey': events[0]!.key,
    });
    expect(JSON.parse(binary.body)).toEqual(events[0]!.data);
  });

  it('ends every NDJSON line with a newline', () => {
    const body = batchRequest(events.slice(0, 3), 'ndjson').body;
    expect(body.split('\n')).toHaveLength(4);
    expect(body.endsWith('\n')).toBe(true);
  });
});
