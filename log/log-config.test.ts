import { describe, expect, it } from 'vitest';
import { loadLogConfig, loadLogDatabaseConfig } from './log-config.js';

describe('loadLogConfig', () => {
  it('defaults every setting, in ms', () => {
    const config = loadLogConfig({ SLUICE_LOG_DATABASE_URL: 'postgres://sluice@db:5432/sluice' });
    expect(config.groupId).toBe('sluice-log');
    expect(config.adminPort).toBe(8083);
    expect(config.topics.attemptsTopic).toBe('sluice.attempts');
    expect(config.partitions).toEqual({ retentionMs: 14 * 86_400_000, daysAhead: 2 });
    expect(config.pool).toMatchObject({
      maxConnections: 4,
      connectTimeoutMs: 3000,
      statementTimeoutMs: 15_000,
    });
    expect(config.retryMaxBackoffMs).toBe(5000);
  });

  it('reports every problem at once', () => {
    expect(() =>
      loadLogConfig({
        SLUICE_LOG_RETENTION_MS: '2h',
        SLUICE_LOG_DATABASE_POOL_SIZE: '1',
        SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: '20s',
      }),
    ).toThrow(
      expect.objectContaining({
        details: {
          problems: [
            'SLUICE_LOG_DATABASE_URL is required: the PostgreSQL database of the delivery log',
            'SLUICE_LOG_DATABASE_POOL_SIZE must be at least 2, got 1',
            'SLUICE_LOG_RETENTION_MS must be at least 86400000, got 2h',
            'SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS (20000) must be at most a third of SLUICE_KAFKA_SESSION_TIMEOUT_MS (30000)',
          ],
        },
      }),
    );
  });

  it('refuses a URL that is not PostgreSQL’s', () => {
    expect(() => loadLogDatabaseConfig({ SLUICE_LOG_DATABASE_URL: 'mysql://db/sluice' })).toThrow(
      'SLUICE_LOG_DATABASE_URL must be a postgres:// URL',
    );
  });
});
