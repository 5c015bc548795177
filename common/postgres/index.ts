/**
 * The one door to PostgreSQL: every module outside common/postgres/ imports its client, types and
 * helpers from here, never `pg` (lint enforces it), so the client's settings and quirks (timeouts,
 * the pool's `error` event) live in one folder.
 */
export type { ClientBase, Pool, PoolClient, QueryResult } from 'pg';
export { createPostgresPool, withTransaction, type PostgresPoolOptions } from './postgres-pool.js';
export { waitForPostgres, withPostgresClient } from './postgres-client.js';
export { describePostgresError, isPostgresUnavailable, sqlState } from './postgres-errors.js';
export { databaseNameOf, databaseUrlFor, quoteIdentifier, redactDatabaseUrl } from './database-url.js';
export { readLogDatabasePool } from './log-database-settings.js';
