import { SluiceError } from '../../common/errors.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import type { ApiKeyRecord } from './api-key-entry.js';

// What a key may do with subscriptions, by who it is (README.md#tenants): an admin key manages
// every subscription; a key bound to a tenant manages that tenant's only (never a global one,
// which receives every tenant's events); a producer key without a tenant manages none.

const noSubscriptionsDetail = 'managing subscriptions needs an admin API key or an API key bound to a tenant';

/** Whether `key` sees `subscription` at all: what lists and the delivery log's scope keep. */
export function canManageSubscription(
  key: ApiKeyRecord,
  subscription: Pick<Subscription, 'tenant'>,
): boolean {
  if (key.role === 'admin') return true;
  return key.tenant !== undefined && subscription.tenant === key.tenant;
}

/**
 * Throws 403 unless `key` may manage `subscription`: SLUICE_TENANT_FORBIDDEN for a tenant key and
 * another tenant's (or a global) subscription. The answer is 403, not 404: subscription ids are
 * 130 random bits, so confirming that one exists tells nobody anything they could guess.
 */
export function assertSubscriptionAccess(
  key: ApiKeyRecord,
  subscription: Pick<Subscription, 'id' | 'tenant'>,
): void {
  if (canManageSubscription(key, subscription)) return;
  if (key.tenant === undefined) throw new SluiceError('SLUICE_FORBIDDEN', noSubscriptionsDetail);
  throw new SluiceError(
    'SLUICE_TENANT_FORBIDDEN',
    `subscription ${subscription.id} is not one of tenant ${key.tenant}'s: this API key manages its tenant's subscriptions only`,
    { details: { subscriptionId: subscription.id } },
  );
}

/**
 * Throws 403 SLUICE_TENANT_FORBIDDEN when a tenant key names another tenant for a subscription it
 * creates or changes, or null (global). `requested` is the request's `tenant` as sent; undefined
 * when absent (a tenant key's new subscription is then its tenant's; a change leaves it as it is).
 */
export function assertTenantRequest(key: ApiKeyRecord, requested: unknown): void {
  if (key.role === 'admin' || requested === undefined) return;
  if (key.tenant === undefined) throw new SluiceError('SLUICE_FORBIDDEN', noSubscriptionsDetail);
  if (requested === key.tenant) return;
  throw new SluiceError(
    'SLUICE_TENANT_FORBIDDEN',
    `this API key manages tenant ${key.tenant}'s subscriptions only: tenant must be ${key.tenant} or be omitted`,
    { details: { field: 'tenant' } },
  );
}
