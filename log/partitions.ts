import { withTransaction, type ClientBase, type Pool } from '../common/postgres/index.js';

const dayMs = 86_400_000;

/**
 * Key of the advisory lock taken by whoever creates or drops partitions: several log processes
 * (and `sluice log migrate`) run the same maintenance, and two `CREATE TABLE … PARTITION OF` for
 * one day at once would fail in one of them.
 */
const partitionLockKey = 0x51_1c_e0_02;

const partitionPattern = /^attempts_p(\d{4})(\d{2})(\d{2})$/;

/** The UTC day (its first millisecond) that holds `ms`. */
export function dayStartMs(ms: number): number {
  return Math.floor(ms / dayMs) * dayMs;
}

/** `attempts_p20260301`: the partition of the UTC day starting at `dayMs`. */
export function partitionName(dayStart: number): string {
  return `attempts_p${new Date(dayStart).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The day a partition of ours holds, or undefined for a table that is not one. */
export function partitionDay(name: string): number | undefined {
  const match = partitionPattern.exec(name);
  if (!match) return undefined;
  const day = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Date.UTC rolls 2026-02-30 over into March: such a name is not a day.
  return partitionName(day) === name ? day : undefined;
}

export interface PartitionPolicy {
  /** Rows older than this are dropped with their partition. */
  retentionMs: number;
  /** Partitions exist from today to this many days ahead, so writes never wait for one. */
  daysAhead: number;
}

/**
 * The oldest time a row may have and still be kept: a partition is dropped once its whole day is
 * before this, so a row newer than it always has a partition that stays.
 */
export function retentionCutoffMs(nowMs: number, policy: PartitionPolicy): number {
  return nowMs - policy.retentionMs;
}

/** What maintenance does at `nowMs`: the days to create (today and ahead) and the partitions to drop. */
export function planPartitions(
  existing: readonly string[],
  nowMs: number,
  policy: PartitionPolicy,
): { create: number[]; drop: string[] } {
  const existingDays = new Set(existing.map(partitionDay).filter((day) => day !== undefined));
  const today = dayStartMs(nowMs);
  const create: number[] = [];
  for (let day = 0; day <= policy.daysAhead; day += 1) {
    const start = today + day * dayMs;
    if (!existingDays.has(start)) create.push(start);
  }
  const cutoff = retentionCutoffMs(nowMs, policy);
  const drop = existing.filter((name) => {
    const day = partitionDay(name);
    return day !== undefined && day + dayMs <= cutoff;
  });
  return { create, drop: drop.sort() };
}

async function existingPartitions(client: ClientBase): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `SELECT child.relname AS name
       FROM pg_inherits
       JOIN pg_class child ON child.oid = pg_inherits.inhrelid
      WHERE pg_inherits.inhparent = 'attempts'::regclass`,
  );
  return result.rows.map((row) => row.name);
}

async function createPartitions(client: ClientBase, days: readonly number[]): Promise<string[]> {
  const created: string[] = [];
  for (const day of days) {
    const name = partitionName(day);
    const from = new Date(day).toISOString();
    const to = new Date(day + dayMs).toISOString();
    const result = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
      name,
    ]);
    if (result.rows[0]?.exists) continue;
    // Names and bounds come from numbers formatted here, never from input.
    await client.query(`CREATE TABLE ${name} PARTITION OF attempts FOR VALUES FROM ('${from}') TO ('${to}')`);
    created.push(name);
  }
  return created;
}

/**
 * Creates the partitions of today and the days ahead and drops those past retention, under the
 * advisory lock. Dropping a partition is how rows leave the log: never a DELETE, which would
 * leave dead tuples for vacuum to chase across a table of millions of rows.
 */
export async function maintainPartitions(
  pool: Pool,
  nowMs: number,
  policy: PartitionPolicy,
): Promise<{ created: string[]; dropped: string[] }> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [partitionLockKey]);
    const plan = planPartitions(await existingPartitions(client), nowMs, policy);
    const created = await createPartitions(client, plan.create);
    for (const name of plan.drop) await client.query(`DROP TABLE ${name}`);
    return { created, dropped: plan.drop };
  });
}

/** Creates the partitions of `days` (first milliseconds of UTC days) that do not exist yet. */
export async function ensurePartitions(pool: Pool, days: readonly number[]): Promise<string[]> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [partitionLockKey]);
    return createPartitions(client, days);
  });
}
