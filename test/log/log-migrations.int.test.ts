import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { createPostgresPool, withPostgresClient, type Pool } from '../../common/postgres/index.js';
import { maintainPartitions, partitionName } from '../../log/partitions.js';
import { applyMigrations, loadMigrations, migrationsDir } from '../../log/schema-migrations.js';
import { spawnCli } from '../support/cli-process.js';
import { createTestDatabase } from '../support/postgres-fixture.js';

const dayMs = 86_400_000;
const logger = createLogger('test', 'silent');

async function freshDatabase(): Promise<{ url: string; pool: Pool }> {
  const database = await createTestDatabase('sluice_log_migrate');
  const pool = createPostgresPool(
    {
      url: database.url,
      maxConnections: 4,
      connectTimeoutMs: 3000,
      statementTimeoutMs: 10_000,
      applicationName: 'test',
    },
    logger,
  );
  onTestFinished(async () => {
    await pool.end();
    await database.drop();
  });
  return { url: database.url, pool };
}

async function tables(pool: Pool): Promise<string[]> {
  const result = await pool.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  return result.rows.map((row) => row.name);
}

let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('sluice log migrate', () => {
  it('creates the schema and today’s partitions once; a second run changes nothing', async () => {
    const { url, pool } = await freshDatabase();
    const first = spawnCli(['log', 'migrate'], { SLUICE_LOG_DATABASE_URL: url, SLUICE_LOG_LEVEL: 'info' });
    expect(await first.exited, first.output()).toBe(0);
    expect(first.output()).toContain('log database migrated');
    const today = Math.floor(Date.now() / dayMs) * dayMs;
    const expected = [
      'attempts',
      partitionName(today),
      partitionName(today + dayMs),
      partitionName(today + 2 * dayMs),
    ];
    expect(await tables(pool)).toEqual(expect.arrayContaining([...expected, 'schema_migrations']));

    const second = spawnCli(['log', 'migrate'], { SLUICE_LOG_DATABASE_URL: url, SLUICE_LOG_LEVEL: 'info' });
    expect(await second.exited, second.output()).toBe(0);
    expect(second.output()).toContain('log database already up to date');
    const applied = await pool.query('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(applied.rows).toEqual(loadMigrations().map(({ version, name }) => ({ version, name })));
  });

  it('applies each migration once when several migrators start together', async () => {
    const { pool } = await freshDatabase();
    const migrations = loadMigrations();
    const results = await Promise.all([1, 2, 3, 4].map(() => applyMigrations(pool, migrations)));
    expect(results.flat()).toEqual(migrations.map((migration) => migration.version));
  });

  it('applies a new migration in order, and refuses an applied one that changed', async () => {
    const { pool } = await freshDatabase();
    scratch = mkdtempSync(join(tmpdir(), 'sluice-migrations-'));
    cpSync(migrationsDir(), scratch, { recursive: true });
    await applyMigrations(pool, loadMigrations(scratch));

    writeFileSync(join(scratch, nextFile('extra')), 'CREATE TABLE extra (id integer PRIMARY KEY);\n');
    expect(await applyMigrations(pool, loadMigrations(scratch))).toEqual([nextVersion()]);
    expect(await tables(pool)).toContain('extra');

    writeFileSync(join(scratch, nextFile('extra')), 'CREATE TABLE extra (id bigint PRIMARY KEY);\n');
    await expect(applyMigrations(pool, loadMigrations(scratch))).rejects.toThrow(
      `migration ${nextVersion()} (extra) changed after it was applied`,
    );
  });

  it('rolls a failing migration back whole', async () => {
    const { pool } = await freshDatabase();
    scratch = mkdtempSync(join(tmpdir(), 'sluice-migrations-'));
    cpSync(migrationsDir(), scratch, { recursive: true });
    writeFileSync(
      join(scratch, nextFile('broken')),
      'CREATE TABLE half (id integer);\nSELECT no_such_function();\n',
    );
    await expect(applyMigrations(pool, loadMigrations(scratch))).rejects.toThrow(/no_such_function/);
    expect(await tables(pool)).not.toContain('half');
    expect(await tables(pool)).not.toContain('attempts');
  });
});

/** The version after the shipped migrations, and a file name of it. */
function nextVersion(): number {
  return loadMigrations().length + 1;
}
function nextFile(name: string): string {
  return `${String(nextVersion()).padStart(4, '0')}_${name}.sql`;
}

describe('partition maintenance', () => {
  it('drops the partitions past retention with their rows, keeps the rest, creates days ahead', async () => {
    const { url, pool } = await freshDatabase();
    await applyMigrations(pool, loadMigrations());
    const nowMs = Date.now();
    const today = Math.floor(nowMs / dayMs) * dayMs;
    const policy = { retentionMs: 14 * dayMs, daysAhead: 2 };
    // As if the log had run for 20 days: a partition a day, one row in each.
    await withPostgresClient(url, async (client) => {
      for (let day = 20; day >= 1; day -= 1) {
        const start = today - day * dayMs;
        await client.query(
          `CREATE TABLE ${partitionName(start)} PARTITION OF attempts FOR VALUES FROM ('${new Date(start).toISOString()}') TO ('${new Date(start + dayMs).toISOString()}')`,
        );
        await client.query(
          `INSERT INTO attempts (attempt_id, attempted_at, event_id, event_type, producer_id, subscription_id,
             attempt, response_headers, response_body_truncated, outcome)
           VALUES (gen_random_uuid(), $1, 'e', 't', 'p', 's', 1, '{}', false, 'delivered')`,
          [new Date(start + 3_600_000).toISOString()],
        );
      }
    });

    const { created, dropped } = await maintainPartitions(pool, nowMs, policy);
    // A day is dropped once all of it is older than 14 days: days -20 … -15.
    expect(dropped).toEqual([20, 19, 18, 17, 16, 15].map((day) => partitionName(today - day * dayMs)));
    expect(created).toEqual([0, 1, 2].map((day) => partitionName(today + day * dayMs)));
    const rows = await pool.query<{ count: string }>('SELECT count(*) FROM attempts');
    expect(Number(rows.rows[0]!.count)).toBe(14);
    const left = await tables(pool);
    for (const name of dropped) expect(left).not.toContain(name);
    expect(left).toContain(partitionName(today - 14 * dayMs));

    expect(await maintainPartitions(pool, nowMs, policy)).toEqual({ created: [], dropped: [] });
  });
});
