import type { EnvReader } from '../config.js';
import type { PostgresPoolOptions } from './postgres-pool.js';

/**
 * The delivery log's database as any process reads it: `SLUICE_LOG_DATABASE_URL` and the pool
 * settings, the same names in `sluice log` and the gateway. Undefined when the URL is not set.
 */
export function readLogDatabasePool(
  reader: EnvReader,
  options: {
    applicationName: string;
    /** Default of SLUICE_LOG_DATABASE_STATEMENT_TIMEOUT_MS in this process. */
    statementTimeoutMs: number;
    /** The problem to report when the URL is not set; absent, the database is optional. */
    requiredProblem?: string;
  },
): PostgresPoolOptions | undefined {
  const url = reader.optionalString('SLUICE_LOG_DATABASE_URL');
  if (url === undefined && options.requiredProblem !== undefined) reader.problem(options.requiredProblem);
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
    reader.problem('SLUICE_LOG_DATABASE_URL must be a postgres:// URL');
  }
  const pool: PostgresPoolOptions = {
    url: url ?? '',
    maxConnections: reader.integer('SLUICE_LOG_DATABASE_POOL_SIZE', 4, { min: 2, max: 100 }),
    connectTimeoutMs: reader.durationMs('SLUICE_LOG_DATABASE_CONNECT_TIMEOUT_MS', 3000, { min: 100 }),
    statementTimeoutMs: reader.durationMs(
      'SLUICE_LOG_DATABASE_STATEMENT_TIMEOUT_MS',
      options.statementTimeoutMs,
      { min: 100 },
    ),
    applicationName: options.applicationName,
  };
  return url === undefined ? undefined : pool;
}
