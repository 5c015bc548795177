import type { Subscription } from '../../common/subscriptions/subscription.js';
import { generateWebhookSecret } from '../../common/webhook-signer.js';

/**
 * A valid stored subscription with every field set, for tests that need one in memory: each test
 * overrides the fields it is about, so a field added to Subscription is added here once.
 */
export function sampleSubscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    id: 'sub_sample',
    url: 'https://hooks.example.com/x',
    eventTypes: ['order.*'],
    description: '',
    enabled: true,
    disabledReason: undefined,
    secrets: [{ secret: generateWebhookSecret(), expiresAtMs: undefined }],
    rateLimitPerSecond: undefined,
    maxConcurrency: 4,
    ordering: 'none',
    producerIds: undefined,
    tenant: undefined,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    ...overrides,
  };
}
