import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import type { ApiKeyRecord } from './api-key-entry.js';
import { assertSubscriptionAccess, assertTenantRequest, canManageSubscription } from './tenant-access.js';

function key(overrides: Partial<ApiKeyRecord>): ApiKeyRecord {
  return {
    keyHash: `sha256:${'0'.repeat(64)}`,
    producerId: 'p',
    role: 'producer',
    allowedEventTypes: ['*'],
    ratePerSecond: 1,
    burst: 1,
    priority: 'normal',
    ...overrides,
  };
}

const admin = key({ role: 'admin', producerId: 'ops' });
const acmeKey = key({ producerId: 'saas-acme', tenant: 'acme' });
const producer = key({ producerId: 'shop' });

const acme = { id: 'sub_acme', tenant: 'acme' };
const globex = { id: 'sub_globex', tenant: 'globex' };
const global = { id: 'sub_global', tenant: undefined };

function codeOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof SluiceError) return error.code;
    throw error;
  }
}

describe('tenant access to subscriptions', () => {
  it('lets an admin key manage every subscription', () => {
    expect([acme, globex, global].map((s) => canManageSubscription(admin, s))).toEqual([true, true, true]);
    expect(codeOf(() => assertSubscriptionAccess(admin, globex))).toBeUndefined();
  });

  it("lets a tenant key manage its tenant's subscriptions only, never a global one", () => {
    expect([acme, globex, global].map((s) => canManageSubscription(acmeKey, s))).toEqual([
      true,
      false,
      false,
    ]);
    expect(codeOf(() => assertSubscriptionAccess(acmeKey, acme))).toBeUndefined();
    expect(codeOf(() => assertSubscriptionAccess(acmeKey, globex))).toBe('SLUICE_TENANT_FORBIDDEN');
    expect(codeOf(() => assertSubscriptionAccess(acmeKey, global))).toBe('SLUICE_TENANT_FORBIDDEN');
  });

  it('lets a producer key without a tenant manage none', () => {
    expect([acme, global].map((s) => canManageSubscription(producer, s))).toEqual([false, false]);
    expect(codeOf(() => assertSubscriptionAccess(producer, global))).toBe('SLUICE_FORBIDDEN');
  });

  it('lets a tenant key name only its own tenant, or none, for a subscription it writes', () => {
    expect(codeOf(() => assertTenantRequest(acmeKey, undefined))).toBeUndefined();
    expect(codeOf(() => assertTenantRequest(acmeKey, 'acme'))).toBeUndefined();
    for (const requested of ['globex', null, 'ACME', '']) {
      expect(
        codeOf(() => assertTenantRequest(acmeKey, requested)),
        String(requested),
      ).toBe('SLUICE_TENANT_FORBIDDEN');
    }
    for (const requested of ['globex', null, undefined]) {
      expect(codeOf(() => assertTenantRequest(admin, requested))).toBeUndefined();
    }
  });
});
