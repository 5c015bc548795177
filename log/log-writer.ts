import type { AttemptRecord } from '../common/attempts/attempt-record.js';
import type { Logger } from '../common/logger.js';
import { describePostgresError, sqlState, type ClientBase, type Pool } from '../common/postgres/index.js';
import { insertAttemptRows } from './attempt-rows.js';
import { insertDeadLetterRows, type DeadLetterRow } from './dead-letter-rows.js';
import { dayStartMs, ensurePartitions, retentionCutoffMs, type PartitionPolicy } from './partitions.js';

const dayMs = 86_400_000;
/** Rows per INSERT: bounds one statement's memory and time on both sides. */
const rowsPerStatement = 1000;

/** Why a record read from the topic is not stored. */
export type SkipReason = 'invalid' | 'expired' | 'future' | 'rejected';

export interface WriteResult {
  /** Rows added. */
  written: number;
  /** Records whose row was there already (a batch read twice). */
  duplicates: number;
  skipped: Partial<Record<SkipReason, number>>;
}

export interface LogWriter<R = AttemptRecord> {
  /**
   * Stores `records`; resolves once every storable row is in PostgreSQL, throws when it could not
   * (the caller retries the same records: rows already written are skipped by their key).
   */
  write(records: readonly R[]): Promise<WriteResult>;
  /** Forgets which partitions exist (after maintenance dropped some). */
  forgetPartitions(): void;
}

/** What the writer needs to know of one table of the log. */
export interface LogTable<R> {
  /** The time retention and partitioning go by. */
  atMs(record: R): number;
  /** One multi-row INSERT … ON CONFLICT DO NOTHING; resolves to the rows added. */
  insert(db: Pool | ClientBase, records: readonly R[]): Promise<number>;
  /** What identifies a record in a log line (never its payload). */
  describe(record: R): Record<string, unknown>;
  /** Daily partitions of `attempts` to create before inserting; false for a plain table. */
  partitioned: boolean;
}

export const attemptsTable: LogTable<AttemptRecord> = {
  atMs: (record) => Date.parse(record.attemptedAt),
  insert: insertAttemptRows,
  describe: (record) => ({ attemptId: record.attemptId, eventId: record.eventId }),
  partitioned: true,
};

export const deadLettersTable: LogTable<DeadLetterRow> = {
  atMs: (row) => Date.parse(row.deadLetteredAt),
  insert: insertDeadLetterRows,
  describe: (row) => ({ deadLetterId: row.id, eventId: row.eventId }),
  partitioned: false,
};

export interface LogWriterOptions<R = AttemptRecord> {
  /** Default: the attempts table. */
  table?: LogTable<R>;
  pool: Pool;
  policy: PartitionPolicy;
  nowMs: () => number;
  logger: Logger;
  /** Throws while the database lacks the schema this version needs; asked until it passes once. */
  checkSchema?: () => Promise<void>;
}

/** A server error about one row's data (out of range, bad encoding, too large), not about the server. */
function isRowRejection(error: unknown): boolean {
  const state = sqlState(error) ?? '';
  return (
    state.startsWith('22') || state.startsWith('54') || (state.startsWith('23') && !isMissingPartition(error))
  );
}

function isMissingPartition(error: unknown): boolean {
  return (
    sqlState(error) === '23514' && error instanceof Error && /no partition of relation/.test(error.message)
  );
}

/**
 * Writes attempt records as rows: drops those past retention (their partition is gone or about to
 * go) and those dated implausibly far ahead, makes sure each remaining row's day has a partition,
 * then inserts in chunks. A row PostgreSQL refuses for its data alone is skipped and logged, so one
 * bad record cannot stop the log; every other failure is thrown for the caller to retry.
 */
export function createLogWriter<R = AttemptRecord>(options: LogWriterOptions<R>): LogWriter<R> {
  const { pool, policy, logger } = options;
  const table = options.table ?? (attemptsTable as unknown as LogTable<R>);
  const knownDays = new Set<number>();
  let schemaChecked = options.checkSchema === undefined;

  async function ensureDays(records: readonly R[]): Promise<void> {
    if (!table.partitioned) return;
    const missing = new Set<number>();
    for (const record of records) {
      const day = dayStartMs(table.atMs(record));
      if (!knownDays.has(day)) missing.add(day);
    }
    if (missing.size === 0) return;
    const created = await ensurePartitions(
      pool,
      [...missing].sort((a, b) => a - b),
    );
    if (created.length > 0) logger.info({ partitions: created }, 'created partitions for attempts');
    for (const day of missing) knownDays.add(day);
  }

  async function insertRowByRow(chunk: readonly R[], result: WriteResult): Promise<number> {
    let written = 0;
    for (const record of chunk) {
      try {
        written += await table.insert(pool, [record]);
      } catch (error) {
        if (!isRowRejection(error)) throw error;
        result.skipped.rejected = (result.skipped.rejected ?? 0) + 1;
        logger.warn(
          { ...describePostgresError(error), ...table.describe(record) },
          'PostgreSQL refused a row of the log; skipped',
        );
      }
    }
    return written;
  }

  async function write(records: readonly R[]): Promise<WriteResult> {
    const result: WriteResult = { written: 0, duplicates: 0, skipped: {} };
    const nowMs = options.nowMs();
    const cutoff = retentionCutoffMs(nowMs, policy);
    const latest = dayStartMs(nowMs) + (policy.daysAhead + 1) * dayMs;
    const kept: R[] = [];
    for (const record of records) {
      const at = table.atMs(record);
      if (at < cutoff) result.skipped.expired = (result.skipped.expired ?? 0) + 1;
      else if (at >= latest) result.skipped.future = (result.skipped.future ?? 0) + 1;
      else kept.push(record);
    }
    try {
      if (!schemaChecked) {
        await options.checkSchema?.();
        schemaChecked = true;
      }
      await ensureDays(kept);
      for (let start = 0; start < kept.length; start += rowsPerStatement) {
        const chunk = kept.slice(start, start + rowsPerStatement);
        try {
          result.written += await table.insert(pool, chunk);
        } catch (error) {
          if (!isRowRejection(error)) throw error;
          result.written += await insertRowByRow(chunk, result);
        }
      }
    } catch (error) {
      // Someone dropped a partition this process believed in: look again on the next try.
      if (isMissingPartition(error)) knownDays.clear();
      throw error;
    }
    result.duplicates = kept.length - result.written - (result.skipped.rejected ?? 0);
    return result;
  }

  return { write, forgetPartitions: () => knownDays.clear() };
}
