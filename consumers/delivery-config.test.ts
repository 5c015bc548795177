import { describe, expect, it } from 'vitest';
import { loadDeliveryConfig } from './delivery-config.js';

describe('loadDeliveryConfig', () => {
  it('has documented defaults', () => {
    const config = loadDeliveryConfig({});
    expect(config).toMatchObject({
      adminPort: 8082,
      roles: ['events', 'retry'],
      groupId: 'sluice-delivery',
      retryGroupId: 'sluice-delivery-retry',
      attemptTimeoutMs: 15_000,
      maxInFlightPerPartition: 500,
      maxInFlightTotal: 5000,
      ssrfAllowedCidrs: [],
      dedup: { failureMode: 'open', leaseMs: 60_000, markerTtlMs: 8 * 86_400_000 },
      breaker: {
        errorThresholdPercentage: 50,
        volumeThreshold: 10,
        rollingWindowMs: 30_000,
        resetTimeoutMs: 30_000,
      },
    });
    expect(config.retryDelaysMs).toHaveLength(9);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the schedule, roles, failure mode and allowlist', () => {
    const config = loadDeliveryConfig({
      SLUICE_RETRY_SCHEDULE: '1s,2s',
      SLUICE_DELIVERY_ROLES: 'retry',
      SLUICE_DEDUP_FAILURE_MODE: 'closed',
      SLUICE_SSRF_ALLOWED_CIDRS: '127.0.0.0/8, 10.1.0.0/16',
    });
    expect(config.retryDelaysMs).toEqual([1000, 2000]);
    expect(config.roles).toEqual(['retry']);
    expect(config.dedup.failureMode).toBe('closed');
    expect(config.ssrfAllowedCidrs).toEqual(['127.0.0.0/8', '10.1.0.0/16']);
  });

  it('reports every problem at once, naming each variable', () => {
    let message = '';
    try {
      loadDeliveryConfig({
        SLUICE_RETRY_SCHEDULE: '5s,1s',
        SLUICE_DELIVERY_ROLES: 'events,bogus',
        SLUICE_DEDUP_FAILURE_MODE: 'maybe',
        SLUICE_SSRF_ALLOWED_CIDRS: '10.0.0.0/99',
        SLUICE_DEDUP_LEASE_MS: '5s',
        SLUICE_DEDUP_TTL_MS: '1h',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('SLUICE_RETRY_SCHEDULE must be strictly ascending, got 5s,1s');
    expect(message).toContain('SLUICE_DELIVERY_ROLES');
    expect(message).toContain('SLUICE_DEDUP_FAILURE_MODE must be one of open, closed');
    expect(message).toContain(
      'SLUICE_SSRF_ALLOWED_CIDRS entries must be CIDRs such as 10.1.0.0/16 or fd00::/8, got "10.0.0.0/99"',
    );
    expect(message).toContain('SLUICE_DEDUP_LEASE_MS (5000) must exceed SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS');
    expect(message).toContain('SLUICE_DEDUP_TTL_MS (3600000) must be at least SLUICE_EVENTS_RETENTION_MS');
  });
});
