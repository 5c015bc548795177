import { describe, expect, it } from 'vitest';
import { inboundEventId, inboundWebhookSchema, isSluiceOwnedSchema } from './inbound-record.js';

describe('the inbound record type', () => {
  it('accepts exactly Sluice’s own schema under the reserved subject, however it is written', () => {
    expect(isSluiceOwnedSchema('sluice.inbound_webhook', JSON.stringify(inboundWebhookSchema))).toBe(true);
    const changed = { ...inboundWebhookSchema, fields: inboundWebhookSchema.fields.slice(1) };
    expect(isSluiceOwnedSchema('sluice.inbound_webhook', changed)).toBe(false);
    expect(isSluiceOwnedSchema('sluice.other', inboundWebhookSchema)).toBe(false);
    expect(isSluiceOwnedSchema('sluice.inbound_webhook', '{not json')).toBe(false);
  });

  it('gives one provider event the same bounded id every time, distinct per source', () => {
    const id = inboundEventId('src_a', 'evt_1');
    expect(id).toMatch(/^inb_[0-9a-f]{40}$/);
    expect(inboundEventId('src_a', 'evt_1')).toBe(id);
    expect(inboundEventId('src_b', 'evt_1')).not.toBe(id);
    expect(inboundEventId('src_a', 'x'.repeat(512))).toHaveLength(44);
  });
});
