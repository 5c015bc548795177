import { describe, expect, it } from 'vitest';
import { parseBatch, parseSingleEvent, type ParsedItem } from './parse-request.js';

function tenantOf(item: ParsedItem | undefined): unknown {
  if (item === undefined || !item.ok) throw new Error('expected a parsed event');
  return item.event.tenant;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('the tenant an event names, in every format', () => {
  it('reads `tenant` from the Sluice envelope, single and batch (JSON array and NDJSON)', () => {
    const event = { type: 'order.created', tenant: 'acme', data: {} };
    expect(
      tenantOf(
        parseSingleEvent({ contentType: 'application/json', cloudEventHeaders: {}, body: json(event) }),
      ),
    ).toBe('acme');
    const batch = parseBatch(
      {
        contentType: 'application/json',
        cloudEventHeaders: {},
        body: json([event, { ...event, tenant: 'globex' }]),
      },
      10,
    );
    expect(batch.map(tenantOf)).toEqual(['acme', 'globex']);
    const ndjson = parseBatch(
      {
        contentType: 'application/x-ndjson',
        cloudEventHeaders: {},
        body: Buffer.from(`${JSON.stringify(event)}\n${JSON.stringify({ ...event, tenant: undefined })}\n`),
      },
      10,
    );
    expect(ndjson.map(tenantOf)).toEqual(['acme', undefined]);
  });

  it('reads the CloudEvents extension `tenantid` in structured, batch and binary mode', () => {
    const cloudEvent = {
      specversion: '1.0',
      id: 'e1',
      source: '/s',
      type: 'order.created',
      tenantid: 'acme',
      data: {},
    };
    expect(
      tenantOf(
        parseSingleEvent({
          contentType: 'application/cloudevents+json',
          cloudEventHeaders: {},
          body: json(cloudEvent),
        }),
      ),
    ).toBe('acme');
    expect(
      parseBatch(
        {
          contentType: 'application/cloudevents-batch+json',
          cloudEventHeaders: {},
          body: json([cloudEvent]),
        },
        10,
      ).map(tenantOf),
    ).toEqual(['acme']);
    expect(
      tenantOf(
        parseSingleEvent({
          contentType: 'application/json',
          cloudEventHeaders: { 'ce-specversion': '1.0', 'ce-type': 'order.created', 'ce-tenantid': 'acme' },
          body: json({}),
        }),
      ),
    ).toBe('acme');
  });

  it('names the accepted envelope fields, tenant among them, when one is unknown', () => {
    const [item] = [
      parseSingleEvent({
        contentType: 'application/json',
        cloudEventHeaders: {},
        body: json({ type: 'order.created', tennant: 'acme', data: {} }),
      }),
    ];
    expect(item.ok).toBe(false);
    if (!item.ok) {
      expect(item.error.details.field).toBe('tennant');
      expect(item.error.message).toContain('tenant');
    }
  });
});
