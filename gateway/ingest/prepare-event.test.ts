import { describe, expect, it } from 'vitest';
import type { CandidateEvent } from './parse-request.js';
import { prepareEvent, type PrepareContext, type PrepareResult } from './prepare-event.js';

function candidate(overrides: Partial<CandidateEvent> = {}): CandidateEvent {
  return {
    type: 'order.created',
    id: 'evt-1',
    key: 'order-1',
    time: '2026-11-27T09:30:00Z',
    source: undefined,
    tenant: undefined,
    data: { total: 1 },
    ...overrides,
  };
}

function context(tenant: string | undefined): PrepareContext {
  return {
    producerId: 'saas',
    tenant,
    isTypeAllowed: () => true,
    encode: () => ({ ok: true, value: Buffer.from([0, 0, 0, 0, 1, 2]) }),
    topicFor: () => 'sluice.events',
    maxEventBytes: 1024,
    nowMs: () => 0,
  };
}

function prepared(result: PrepareResult) {
  if (!result.ok)
    throw new Error(`expected a prepared event, got ${result.error.code}: ${result.error.message}`);
  return result.event;
}

function refused(result: PrepareResult) {
  if (result.ok) throw new Error('expected a refusal');
  return result.error;
}

describe('prepareEvent: tenants', () => {
  it('writes no tenant header for an event without a tenant from an unbound key', () => {
    const event = prepared(prepareEvent(candidate(), context(undefined)));
    expect('ce_tenantid' in event.record.headers).toBe(false);
  });

  it('writes the tenant an event names as the ce_tenantid header', () => {
    const event = prepared(prepareEvent(candidate({ tenant: 'acme' }), context(undefined)));
    expect(event.record.headers).toMatchObject({
      ce_tenantid: 'acme',
      ce_id: 'evt-1',
      sluice_producer: 'saas',
    });
  });

  it("gives every event of a tenant-bound key the key's tenant", () => {
    expect(prepared(prepareEvent(candidate(), context('acme'))).record.headers.ce_tenantid).toBe('acme');
    expect(
      prepared(prepareEvent(candidate({ tenant: null }), context('acme'))).record.headers.ce_tenantid,
    ).toBe('acme');
    expect(
      prepared(prepareEvent(candidate({ tenant: 'acme' }), context('acme'))).record.headers.ce_tenantid,
    ).toBe('acme');
  });

  it('refuses an event naming another tenant than its key’s with 403 SLUICE_TENANT_FORBIDDEN', () => {
    const error = refused(prepareEvent(candidate({ tenant: 'globex' }), context('acme')));
    expect([error.code, error.status]).toEqual(['SLUICE_TENANT_FORBIDDEN', 403]);
    expect(error.details).toEqual({ field: 'tenant', tenant: 'globex' });
    expect(error.message).toBe('this API key sends events for tenant acme only, not for tenant globex');
    // Exact comparison: neither case nor a prefix makes another tenant the same.
    expect(refused(prepareEvent(candidate({ tenant: 'ACME' }), context('acme'))).code).toBe(
      'SLUICE_TENANT_FORBIDDEN',
    );
    expect(refused(prepareEvent(candidate({ tenant: 'acme2' }), context('acme'))).code).toBe(
      'SLUICE_TENANT_FORBIDDEN',
    );
  });

  it('refuses a malformed tenant with 400 naming the field, whatever the key', () => {
    for (const tenant of ['', 'acme corp', '.acme', 'a'.repeat(65), 7, ['acme'], { id: 'acme' }, true]) {
      for (const keyTenant of [undefined, 'acme']) {
        const error = refused(prepareEvent(candidate({ tenant }), context(keyTenant)));
        expect([error.code, error.status, error.details.field], JSON.stringify(tenant)).toEqual([
          'SLUICE_MALFORMED_REQUEST',
          400,
          'tenant',
        ]);
        expect(error.message).toMatch(/^tenant must be a tenant id \(1-64 letters/);
      }
    }
  });
});
