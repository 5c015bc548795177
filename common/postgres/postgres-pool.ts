import pg, { type Pool, type PoolClient } from 'pg';
import type { Logger } from '../logger.js';
import { describePostgresError } from './postgres-errors.js';

/** How a process reaches PostgreSQL; every wait is bounded, so an outage fails fast instead of hanging. */
export interface PostgresPoolOptions {
  /** `postgres://user[:password]@host:port/database[?sslmode=…]` */
  url: string;
  /** Connections the pool opens at most. */
  maxConnections: number;
  /** Connecting, and waiting for a free connection of the pool, fail after this long. */
  connectTimeoutMs: number;
  /**
   * One statement fails after this long: the server cancels it (`statement_timeout`) and the
   * client gives up on its answer too (`query_timeout`), which is what ends a call to a server that
   * stopped answering without closing the socket.
   */
  statementTimeoutMs: number;
  /** Shown in `pg_stat_activity`. */
  applicationName: string;
}

/**
 * A pg pool whose every wait has a deadline: connect, wait for a pooled connection, each statement
 * (server and client side), a transaction left idle, and dead peers found by TCP keep-alive.
 * The pool's `error` event (an idle connection dropped by the server, e.g. when PostgreSQL is
 * killed) is logged, never left unhandled: unhandled, it would end the process.
 */
export function createPostgresPool(options: PostgresPoolOptions, logger: Logger): Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    // A little above the server's own timeout, so the server's cancellation is the usual answer.
    query_timeout: options.statementTimeoutMs + 1000,
    idle_in_transaction_session_timeout: options.statementTimeoutMs,
    lock_timeout: options.statementTimeoutMs,
    application_name: options.applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (error) => {
    // Only the code and message: pg hangs the whole client (its settings included) on the error.
    logger.warn(describePostgresError(error), 'an idle PostgreSQL connection failed');
  });
  return pool;
}

/**
 * Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it
 * throws. A connection whose ROLLBACK failed is destroyed rather than returned to the pool.
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
