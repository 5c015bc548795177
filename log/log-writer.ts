import type { AttemptRecord } from '../common/attempts/attempt-record.js';
import type { Logger } from '../common/logger.js';
import { describePostgresError, sqlState, type Pool } from '../common/postgres/index.js';
import { insertAttemptRows } from './attempt-rows.js';
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

export interface LogWriter {
  /**
   * Stores `records`; resolves once every storable row is in PostgreSQL, throws when it could not
   * (the caller retries the same records: rows already written are skipped by their key).
   */
  write(records: readonly AttemptRecord[]): Promise<WriteResult>;
  /** Forgets which partitions exist (after maintenance dropped some). */
  forgetPartitions(): void;
}

export interface LogWriterOptions {
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
export function createLogWriter(options: LogWriterOptions): LogWriter {
  const { pool, policy, logger } = options;
  const knownDays = new Set<number>();
  let schemaChecked = options.checkSchema === undefined;

  async function ensureDays(records: readonly AttemptRecord[]): Promise<void> {
    const missing = new Set<number>();
    for (const record of records) {
      const day = dayStartMs(Date.parse(record.attemptedAt));
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

  async function insertRowByRow(chunk: readonly AttemptRecord[], result: WriteResult): Promise<number> {
    let written = 0;
    for (const record of chunk) {
      try {
        written += await insertAttemptRows(pool, [record]);
      } catch (error) {
        if (!isRowRejection(error)) throw error;
        result.skipped.rejected = (result.skipped.rejected ?? 0) + 1;
        logger.warn(
          { ...describePostgresError(error), attemptId: record.attemptId, eventId: record.eventId },
          'PostgreSQL refused an attempt row; skipped',
        );
      }
    }
    return written;
  }

  async function write(records: readonly AttemptRecord[]): Promise<WriteResult> {
    const result: WriteResult = { written: 0, duplicates: 0, skipped: {} };
    const nowMs = options.nowMs();
    const cutoff = retentionCutoffMs(nowMs, policy);
    const latest = dayStartMs(nowMs) + (policy.daysAhead + 1) * dayMs;
    const kept: AttemptRecord[] = [];
    for (const record of records) {
      const at = Date.parse(record.attemptedAt);
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
          result.written += await insertAttemptRows(pool, chunk);
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
