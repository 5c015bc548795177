import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import type { Source } from '../sources/source.js';
import { deriveInboundEvent, providerHeaders } from './derive-inbound-event.js';

const base: Source = {
  id: 'src_dddddddddddddddddddddddddd',
  name: 'shop',
  description: '',
  verification: { scheme: 'header-token', header: 'x-token', prefix: '' },
  secrets: [{ secret: 't', expiresAtMs: undefined }],
  eventType: { from: 'body', path: 'event.kind' },
  eventId: { from: 'body', path: 'event.id' },
  ratePerSecond: 1,
  burst: 1,
  priority: 'normal',
  maxBodyBytes: 1024,
  enabled: true,
  createdAt: '',
  updatedAt: '',
};
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('deriveInboundEvent', () => {
  it('prefixes the type with the source name and reads the id from a body path', () => {
    expect(deriveInboundEvent(base, body({ event: { kind: 'order.paid', id: 42 } }), {})).toEqual({
      type: 'shop.order.paid',
      providerEventId: '42',
    });
  });
  it('turns a slash-separated topic from a header into a dotted type', () => {
    const source: Source = {
      ...base,
      eventType: { from: 'header', name: 'x-shopify-topic' },
      eventId: { from: 'hash' },
    };
    const derived = deriveInboundEvent(source, Buffer.from('not json'), {
      'x-shopify-topic': 'orders/create',
    });
    expect(derived).toMatchObject({ type: 'shop.orders.create' });
    expect((derived as { providerEventId: string }).providerEventId).toMatch(/^[0-9a-f]{64}$/);
  });
  it('refuses a body that is not JSON when a rule reads it, naming the field', () => {
    const result = deriveInboundEvent(base, Buffer.from('a=b'), {});
    expect(result).toBeInstanceOf(SluiceError);
    expect((result as SluiceError).details).toEqual({ field: 'eventType' });
  });
  it('refuses a missing id and a type that is no type name', () => {
    expect((deriveInboundEvent(base, body({ event: { kind: 'x' } }), {}) as SluiceError).details).toEqual({
      field: 'eventId',
    });
    expect(
      (deriveInboundEvent(base, body({ event: { kind: 'a b', id: '1' } }), {}) as SluiceError).details,
    ).toEqual({
      field: 'eventType',
    });
  });
});

describe('providerHeaders', () => {
  it('keeps the provider’s headers and never a credential', () => {
    const kept = providerHeaders(base, {
      authorization: 'Basic x',
      'x-token': 'secret',
      'x-github-delivery': 'd',
      'user-agent': 'GitHub-Hookshot',
      cookie: 'c',
      'x-forwarded-for': '10.0.0.1',
    });
    expect(kept).toEqual({ 'x-github-delivery': 'd', 'user-agent': 'GitHub-Hookshot' });
  });
});
