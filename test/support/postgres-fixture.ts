import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import {
  killPostgres,
  postgresPid,
  startPostgres,
  stopPostgres,
  type PostgresServerOptions,
} from '../../cli/stack/postgres-server.js';
import { createLogger } from '../../common/logger.js';
import {
  createPostgresPool,
  databaseUrlFor,
  quoteIdentifier,
  withPostgresClient,
  type Pool,
} from '../../common/postgres/index.js';
import { maintainPartitions } from '../../log/partitions.js';
import { applyMigrations, loadMigrations } from '../../log/schema-migrations.js';
import { freePort } from './own-redis.js';
import { testDatabaseUrl, uniqueName } from './stack-env.js';

/**
 * A database of its own on the suite's PostgreSQL (the role needs CREATEDB, as the stack's has),
 * so tests never share tables. `drop()` removes it, closing whatever connections are left.
 */
export async function createTestDatabase(
  prefix = 'sluice_test',
  serverUrl = testDatabaseUrl,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = uniqueName(prefix).replaceAll('-', '_').toLowerCase();
  await withPostgresClient(serverUrl, (client) => client.query(`CREATE DATABASE ${quoteIdentifier(name)}`));
  return {
    url: databaseUrlFor(serverUrl, name),
    name,
    drop: async () => {
      await withPostgresClient(serverUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`),
      );
    },
  };
}

/**
 * Applies the delivery log's migrations to the database at `url`, on a pool of its own closed
 * afterwards. `partitions` (default true) also creates the daily partitions `sluice log` keeps
 * (today and two days ahead, 14 days' retention); `then` runs on the same pool before it closes.
 */
export async function migrateLogDatabase(
  url: string,
  options: { partitions?: boolean; statementTimeoutMs?: number; then?: (pool: Pool) => Promise<void> } = {},
): Promise<void> {
  const pool = createPostgresPool(
    {
      url,
      maxConnections: 2,
      connectTimeoutMs: 3000,
      statementTimeoutMs: options.statementTimeoutMs ?? 10_000,
      applicationName: 'test',
    },
    createLogger('test-migrate', 'warn'),
  );
  try {
    await applyMigrations(pool, loadMigrations());
    if (options.partitions ?? true) {
      await maintainPartitions(pool, Date.now(), { retentionMs: 14 * 86_400_000, daysAhead: 2 });
    }
    await options.then?.(pool);
  } finally {
    await pool.end();
  }
}

export interface OwnPostgres {
  port: number;
  /** The Sluice database of this server (`sluice`, trust authentication). */
  url: string;
  pid(): number | undefined;
  /** SIGKILL to the postmaster and its backends: a crash. */
  kill(): Promise<void>;
  /** Starts it again as `sluice stack up` does (crash recovery included). */
  restart(): Promise<void>;
}

/**
 * A PostgreSQL server of the test's own, started by the stack's helper on a free port in a
 * temporary folder, so a test can kill it without disturbing the suite's shared server. Stopped
 * and deleted when the test finishes.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const parent = mkdtempSync(join(tmpdir(), 'sluice-pg-'));
  const options: PostgresServerOptions = {
    home: join(parent, 'postgres'),
    port: await freePort(),
    readyTimeoutMs: 60_000,
    log: () => undefined,
  };
  onTestFinished(async () => {
    await stopPostgres(options).catch(() => killPostgres(options.home));
    rmSync(parent, { recursive: true, force: true });
  });
  const started = await startPostgres(options);
  return {
    port: options.port,
    url: started.url,
    pid: () => postgresPid(options.home),
    kill: async () => {
      await killPostgres(options.home);
    },
    restart: async () => {
      await startPostgres(options);
    },
  };
}
