import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../common/errors.js';
import { withTransaction, type Pool } from '../common/postgres/index.js';

/** One versioned SQL file of `log/migrations/`: `0001_attempts.sql` is version 1, `attempts`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** SHA-256 of the file: an applied migration must never change. */
  checksum: string;
}

/**
 * Key of the advisory lock every migrator takes (any number, the same in every process): two
 * `sluice log migrate` runs, or a chart Job and a developer, apply each migration once.
 */
const migrationLockKey = 0x51_1c_e0_01;

const fileNamePattern = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * The migrations folder: `log/migrations` beside this module in a checkout, or found by walking
 * up from the compiled `dist/log/` in the image (tsc does not copy .sql files).
 */
export function migrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [join(dir, 'migrations'), join(dir, 'log', 'migrations')]) {
      if (existsSync(join(candidate, '0001_attempts.sql'))) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find log/migrations above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Every migration of `dir`, in version order; versions must run 1, 2, 3… without a gap. */
export function loadMigrations(dir: string = migrationsDir()): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = fileNamePattern.exec(file);
      if (!match) throw new Error(`migration ${file} is not named NNNN_name.sql`);
      const sql = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(match[1]),
        name: match[2]!,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `migration versions must run 1, 2, 3… without a gap; found ${migration.version} at ${index + 1}`,
      );
    }
  });
  return migrations;
}

/**
 * Applies the migrations the database has not seen, in order, in one transaction under an
 * advisory lock, and records each in `schema_migrations`. All or nothing: a failing migration
 * leaves the database as it was. An applied migration whose file changed is refused.
 * Returns the versions applied now.
 */
export async function applyMigrations(pool: Pool, migrations: readonly Migration[]): Promise<number[]> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const applied = await client.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations ORDER BY version',
    );
    const known = new Map(applied.rows.map((row) => [row.version, row.checksum]));
    for (const [version, checksum] of known) {
      const migration = migrations.find((candidate) => candidate.version === version);
      if (migration === undefined) {
        throw new SluiceError(
          'SLUICE_CONFIG_INVALID',
          `the database has migration ${version}, which this version of Sluice does not know: it is older than the database`,
        );
      }
      if (migration.checksum !== checksum) {
        throw new SluiceError(
          'SLUICE_CONFIG_INVALID',
          `migration ${version} (${migration.name}) changed after it was applied; add a new migration instead`,
        );
      }
    }
    const appliedNow: number[] = [];
    for (const migration of migrations) {
      if (known.has(migration.version)) continue;
      // Without parameters pg sends the simple query protocol, which runs a file of several statements.
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      appliedNow.push(migration.version);
    }
    return appliedNow;
  });
}

/** The highest applied version, or 0 for a database never migrated. */
export async function schemaVersion(pool: Pool): Promise<number> {
  const table = await pool.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
  );
  if (!table.rows[0]?.exists) return 0;
  const result = await pool.query<{ version: number | null }>(
    'SELECT max(version) AS version FROM schema_migrations',
  );
  return result.rows[0]?.version ?? 0;
}
