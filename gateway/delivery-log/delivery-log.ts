import type { DeadLetterRecord, DeadLetterSummary } from '../../common/attempts/dead-letter.js';
import type { AttemptOutcome, AttemptRecord } from '../../common/attempts/attempt-record.js';
import { createHash } from 'node:crypto';
import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import {
  createPostgresPool,
  isPostgresUnavailable,
  sqlState,
  type Pool,
  type PostgresPoolOptions,
} from '../../common/postgres/index.js';
import {
  encodeCursor,
  type AttemptsQuery,
  type DeadLettersQuery,
  type LogCursor,
  type Page,
} from './log-query.js';

/** One attempt as the API shows it: the record as the worker wrote it, less its source position. */
export type AttemptView = Omit<AttemptRecord, 'sourceTopic' | 'sourcePartition' | 'sourceOffset'>;

export type DeliveryStatus = 'delivered' | 'retrying' | 'dead-lettered' | 'filtered' | 'disabled';

/** Where one event stands with one subscription: what its latest attempt says. */
export interface SubscriptionStatus {
  subscriptionId: string;
  producerId: string;
  eventType: string;
  status: DeliveryStatus;
  /** When the next attempt is due (status `retrying`), else null. */
  nextAttemptAt: string | null;
  attempts: number;
  lastAttempt: AttemptView;
}

export interface WindowStats {
  /** Attempts that sent something and had an outcome (delivered, retry scheduled, dead-lettered). */
  attempts: number;
  delivered: number;
  /** delivered / attempts; null without attempts. */
  successRate: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
}

export interface SubscriptionStats {
  subscriptionId: string;
  lastHour: WindowStats;
  lastDay: WindowStats;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  /** Failed attempts since the last success (all retained ones when there was none). */
  consecutiveFailures: number;
}

export type { DeadLetterRecord, DeadLetterSummary };

export interface AttemptSource {
  outcome: AttemptOutcome;
  source: { topic: string; partition: number; offset: string } | null;
}

export interface DeadLetterSelection {
  ids?: readonly string[];
  subscriptionId?: string;
  reason?: string;
  sinceMs?: number;
  untilMs?: number;
}

export interface DeadLetterSummaryCounts {
  selected: number;
  bySubscription: Record<string, number>;
  /** Poison records: no subscription to deliver to. */
  withoutSubscription: number;
  /** With `ids`: those that exist. */
  foundIds: string[] | undefined;
}

/**
 * Which of an event's attempts a reader sees: every one (empty scope), those of one producer's
 * events, or those to some subscriptions (a tenant key's). Both given: rows that pass both.
 */
export interface LogScope {
  producerId?: string;
  subscriptionIds?: readonly string[];
}

/** The delivery log as the gateway reads it. Every call throws SLUICE_LOG_DISABLED / SLUICE_LOG_UNAVAILABLE. */
export interface DeliveryLog {
  /** Undefined when no attempt of the event is recorded (within the scope). */
  eventStatus(eventId: string, scope: LogScope): Promise<SubscriptionStatus[] | undefined>;
  eventAttempts(eventId: string, scope: LogScope): Promise<AttemptView[] | undefined>;
  subscriptionAttempts(
    subscriptionId: string,
    query: AttemptsQuery,
  ): Promise<{ attempts: AttemptView[]; nextCursor: string | null }>;
  subscriptionStats(subscriptionId: string, nowMs: number): Promise<SubscriptionStats>;
  /** Every attempt of the event to the subscription, newest first, with its events-topic record. */
  attemptSources(eventId: string, subscriptionId: string): Promise<AttemptSource[]>;
  eventRecorded(eventId: string): Promise<boolean>;
  deadLetters(
    query: DeadLettersQuery,
  ): Promise<{ deadLetters: DeadLetterSummary[]; nextCursor: string | null }>;
  deadLetter(id: string): Promise<DeadLetterRecord | undefined>;
  /** How many dead letters the selection holds, per subscription; with `ids`, which of them exist. */
  summarizeDeadLetters(selection: DeadLetterSelection): Promise<DeadLetterSummaryCounts>;
  /** Up to `limit` dead letters of the selection with their records, oldest first, after `after`. */
  deadLetterBatch(
    selection: DeadLetterSelection,
    after: LogCursor | undefined,
    limit: number,
  ): Promise<{ letters: DeadLetterRecord[]; last: LogCursor | undefined }>;
  close(): Promise<void>;
}

/** When the database is down or not migrated: a client may retry after this long. */
const unavailableRetryAfterSeconds = 5;

const atText = `to_char(attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const attemptColumns = `attempt_id, ${atText} AS at, event_id, event_type, producer_id, subscription_id,
  attempt, latency_ms, status_code, error_class, response_headers, response_body,
  response_body_truncated, outcome, next_attempt_at, replay_id`;
const deadLetterColumns = `id, to_char(dead_lettered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at,
  event_id, event_type, producer_id, subscription_id, reason, attempts, last_status, last_error,
  source_topic, source_partition, source_offset`;

type Row = Record<string, unknown>;

function iso(value: unknown): string | null {
  return value instanceof Date ? value.toISOString() : null;
}

function attemptView(row: Row): AttemptView {
  return {
    attemptId: row.attempt_id as string,
    eventId: row.event_id as string,
    eventType: row.event_type as string,
    producerId: row.producer_id as string,
    subscriptionId: row.subscription_id as string,
    attempt: row.attempt as number,
    attemptedAt: row.at as string,
    latencyMs: (row.latency_ms as number | null) ?? null,
    statusCode: (row.status_code as number | null) ?? null,
    errorClass: (row.error_class as string | null) ?? null,
    responseHeaders: (row.response_headers as Record<string, string> | null) ?? {},
    responseBody: (row.response_body as string | null) ?? null,
    responseBodyTruncated: row.response_body_truncated as boolean,
    outcome: row.outcome as AttemptOutcome,
    nextAttemptAt: iso(row.next_attempt_at),
    replayId: (row.replay_id as string | null) ?? null,
  };
}

function source(row: Row): DeadLetterSummary['source'] {
  if (row.source_topic === null || row.source_partition === null || row.source_offset === null) return null;
  return {
    topic: row.source_topic as string,
    partition: row.source_partition as number,
    offset: String(row.source_offset),
  };
}

function deadLetterSummary(row: Row): DeadLetterSummary {
  return {
    id: row.id as string,
    deadLetteredAt: row.at as string,
    eventId: (row.event_id as string | null) ?? null,
    eventType: (row.event_type as string | null) ?? null,
    producerId: (row.producer_id as string | null) ?? null,
    subscriptionId: (row.subscription_id as string | null) ?? null,
    reason: row.reason as string,
    attempts: row.attempts as number,
    lastStatus: (row.last_status as number | null) ?? null,
    lastError: (row.last_error as string | null) ?? null,
    source: source(row),
  };
}

function deadLetterRecord(row: Row): DeadLetterRecord {
  return {
    ...deadLetterSummary(row),
    key: (row.record_key as Buffer | null) ?? null,
    value: (row.record_value as Buffer | null) ?? null,
    headers: (row.record_headers as Record<string, string> | null) ?? {},
  };
}

const deliveryStatus: Record<AttemptOutcome, DeliveryStatus> = {
  delivered: 'delivered',
  'retry-scheduled': 'retrying',
  'dead-lettered': 'dead-lettered',
  filtered: 'filtered',
  disabled: 'disabled',
};

/** SQL conditions and their parameters, numbered as they are added. */
class Conditions {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];

  add(sql: (next: () => string) => string, ...values: unknown[]): this {
    let index = 0;
    this.parts.push(
      sql(() => {
        this.params.push(values[index++]);
        return `$${this.params.length}`;
      }),
    );
    return this;
  }

  page(page: Page, timeColumn: string, idColumn: string, idType: string, newestFirst = true): this {
    if (page.sinceMs !== undefined) this.add((p) => `${timeColumn} >= ${p()}`, new Date(page.sinceMs));
    if (page.untilMs !== undefined) this.add((p) => `${timeColumn} < ${p()}`, new Date(page.untilMs));
    const cursor: LogCursor | undefined = page.cursor;
    if (cursor !== undefined) {
      // The lists go newest first, ties by id ascending: the order of their indexes.
      this.add(
        (p) => {
          const at = p();
          return `(${timeColumn} ${newestFirst ? '<' : '>'} ${at}::timestamptz OR (${timeColumn} = ${at}::timestamptz AND ${idColumn} > ${p()}::${idType}))`;
        },
        cursor.at,
        cursor.id,
      );
    }
    return this;
  }

  get where(): string {
    return this.parts.length === 0 ? '' : `WHERE ${this.parts.join(' AND ')}`;
  }
}

/** An event's rows within `scope`; undefined when the scope holds none (no subscription). */
function eventConditions(eventId: string, scope: LogScope): Conditions | undefined {
  const where = new Conditions().add((p) => `event_id = ${p()}`, eventId);
  if (scope.producerId !== undefined) where.add((p) => `producer_id = ${p()}`, scope.producerId);
  if (scope.subscriptionIds !== undefined) {
    if (scope.subscriptionIds.length === 0) return undefined;
    where.add((p) => `subscription_id = ANY(${p()}::text[])`, scope.subscriptionIds);
  }
  return where;
}

/** The conditions of a dead-letter selection, oldest first after `after`. */
function selectionConditions(selection: DeadLetterSelection, after: LogCursor | undefined): Conditions {
  const where = new Conditions();
  if (selection.ids !== undefined) where.add((p) => `id = ANY(${p()}::text[])`, selection.ids);
  if (selection.subscriptionId !== undefined)
    where.add((p) => `subscription_id = ${p()}`, selection.subscriptionId);
  if (selection.reason !== undefined) where.add((p) => `reason = ${p()}`, selection.reason);
  return where.page(
    { limit: 0, cursor: after, sinceMs: selection.sinceMs, untilMs: selection.untilMs },
    'dead_lettered_at',
    'id',
    'text',
    false,
  );
}

function nextCursor(rows: readonly Row[], limit: number, idColumn: string): string | null {
  const last = rows[limit - 1];
  return rows.length > limit && last !== undefined
    ? encodeCursor({ at: last.at as string, id: String(last[idColumn]) })
    : null;
}

/** A log for a gateway without SLUICE_LOG_DATABASE_URL: every call answers SLUICE_LOG_DISABLED. */
export function createDisabledLog(): DeliveryLog {
  const disabled = (): never => {
    throw new SluiceError(
      'SLUICE_LOG_DISABLED',
      'the delivery log is off on this gateway: set SLUICE_LOG_DATABASE_URL (and run `sluice log`) to record attempts and dead letters',
    );
  };
  return {
    eventStatus: disabled,
    eventAttempts: disabled,
    subscriptionAttempts: disabled,
    subscriptionStats: disabled,
    attemptSources: disabled,
    eventRecorded: disabled,
    deadLetters: disabled,
    deadLetter: disabled,
    summarizeDeadLetters: disabled,
    deadLetterBatch: disabled,
    close: async () => undefined,
  };
}

/**
 * The delivery log's PostgreSQL, read through a pool of its own whose every wait has a deadline:
 * a database that is down, slow or not migrated answers SLUICE_LOG_UNAVAILABLE (503, Retry-After)
 * within the connect or statement timeout, and nothing else in the gateway waits on it.
 */
export function createDeliveryLog(options: PostgresPoolOptions, logger: Logger): DeliveryLog {
  const pool: Pool = createPostgresPool(options, logger.child({ component: 'delivery-log' }));

  async function query(sql: string, params: unknown[]): Promise<Row[]> {
    try {
      // A named statement is parsed and planned once per connection (PostgreSQL then keeps a
      // generic plan): planning a query over every daily partition costs more than running it.
      // The texts are a bounded set (the filters given), so the name is the text's hash.
      const name = `log_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
      return (await pool.query<Row>({ name, text: sql, values: params })).rows;
    } catch (error) {
      if (isPostgresUnavailable(error)) {
        throw new SluiceError('SLUICE_LOG_UNAVAILABLE', 'the delivery log database is not answering', {
          cause: error,
          retryAfterSeconds: unavailableRetryAfterSeconds,
        });
      }
      // 42P01 undefined table, 42703 undefined column: a database older than this gateway.
      if (sqlState(error) === '42P01' || sqlState(error) === '42703') {
        throw new SluiceError(
          'SLUICE_LOG_UNAVAILABLE',
          'the delivery log database is not migrated: run `sluice log migrate`',
          { cause: error, retryAfterSeconds: unavailableRetryAfterSeconds },
        );
      }
      throw error;
    }
  }

  return {
    async eventStatus(eventId, scope) {
      const where = eventConditions(eventId, scope);
      if (where === undefined) return undefined;
      const rows = await query(
        `SELECT DISTINCT ON (producer_id, subscription_id) ${attemptColumns},
                count(*) OVER (PARTITION BY producer_id, subscription_id) AS attempts
           FROM attempts ${where.where}
          ORDER BY producer_id, subscription_id, attempted_at DESC, attempt DESC`,
        where.params,
      );
      if (rows.length === 0) return undefined;
      return rows.map((row) => {
        const last = attemptView(row);
        return {
          subscriptionId: last.subscriptionId,
          producerId: last.producerId,
          eventType: last.eventType,
          status: deliveryStatus[last.outcome],
          nextAttemptAt: last.outcome === 'retry-scheduled' ? last.nextAttemptAt : null,
          attempts: Number(row.attempts),
          lastAttempt: last,
        };
      });
    },

    async eventAttempts(eventId, scope) {
      const where = eventConditions(eventId, scope);
      if (where === undefined) return undefined;
      const rows = await query(
        `SELECT ${attemptColumns} FROM attempts ${where.where} ORDER BY attempted_at, attempt, attempt_id`,
        where.params,
      );
      return rows.length === 0 ? undefined : rows.map(attemptView);
    },

    async subscriptionAttempts(subscriptionId, q) {
      const where = new Conditions().add((p) => `subscription_id = ${p()}`, subscriptionId);
      if (q.outcome !== undefined) where.add((p) => `outcome = ${p()}`, q.outcome);
      if (q.status === 'error') where.add(() => 'status_code IS NULL');
      else if (q.status !== undefined) {
        const low = Number(q.status[0]) * 100;
        where.add((p) => `status_code >= ${p()} AND status_code < ${p()}`, low, low + 100);
      }
      where.page(q, 'attempted_at', 'attempt_id', 'uuid');
      const rows = await query(
        `SELECT ${attemptColumns} FROM attempts ${where.where}
          ORDER BY attempted_at DESC, attempt_id LIMIT $${where.params.length + 1}`,
        [...where.params, q.limit + 1],
      );
      return {
        attempts: rows.slice(0, q.limit).map(attemptView),
        nextCursor: nextCursor(rows, q.limit, 'attempt_id'),
      };
    },

    async subscriptionStats(subscriptionId, nowMs) {
      const hourAgo = new Date(nowMs - 3_600_000);
      const dayAgo = new Date(nowMs - 86_400_000);
      const sent = `outcome IN ('delivered', 'retry-scheduled', 'dead-lettered')`;
      const failed = `outcome IN ('retry-scheduled', 'dead-lettered')`;
      const windowSql = (suffix: string, filter: string) => `
          count(*) FILTER (WHERE ${sent} ${filter}) AS attempts_${suffix},
          count(*) FILTER (WHERE outcome = 'delivered' ${filter}) AS delivered_${suffix},
          percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms)
            FILTER (WHERE ${sent} AND latency_ms IS NOT NULL ${filter}) AS latency_${suffix}`;
      // One pass over the last day's rows: the hour is the same rows, filtered.
      const [windows] = await query(
        `SELECT ${windowSql('hour', 'AND attempted_at >= $3')}, ${windowSql('day', '')}
           FROM attempts WHERE subscription_id = $1 AND attempted_at >= $2`,
        [subscriptionId, dayAgo, hourAgo],
      );
      const latest = async (condition: string) =>
        (
          await query(
            `SELECT attempted_at FROM attempts WHERE subscription_id = $1 AND ${condition}
              ORDER BY attempted_at DESC LIMIT 1`,
            [subscriptionId],
          )
        )[0]?.attempted_at as Date | undefined;
      const lastSuccess = await latest(`outcome = 'delivered'`);
      const lastFailure = await latest(failed);
      const [streak] = await query(
        `SELECT count(*) AS failures FROM attempts
          WHERE subscription_id = $1 AND ${failed} AND attempted_at > $2`,
        [subscriptionId, lastSuccess ?? new Date(0)],
      );
      const stats = (suffix: string): WindowStats => {
        const attempts = Number(windows?.[`attempts_${suffix}`] ?? 0);
        const delivered = Number(windows?.[`delivered_${suffix}`] ?? 0);
        const latency = (windows?.[`latency_${suffix}`] as (number | null)[] | null) ?? [];
        const round = (value: number | null | undefined) =>
          value === null || value === undefined ? null : Math.round(value * 1000) / 1000;
        return {
          attempts,
          delivered,
          successRate: attempts === 0 ? null : delivered / attempts,
          latencyMs: { p50: round(latency[0]), p95: round(latency[1]), p99: round(latency[2]) },
        };
      };
      return {
        subscriptionId,
        lastHour: stats('hour'),
        lastDay: stats('day'),
        lastSuccessAt: iso(lastSuccess),
        lastFailureAt: iso(lastFailure),
        consecutiveFailures: Number(streak?.failures ?? 0),
      };
    },

    async attemptSources(eventId, subscriptionId) {
      const rows = await query(
        `SELECT outcome, source_topic, source_partition, source_offset FROM attempts
          WHERE event_id = $1 AND subscription_id = $2 ORDER BY attempted_at DESC, attempt DESC`,
        [eventId, subscriptionId],
      );
      return rows.map((row) => ({ outcome: row.outcome as AttemptOutcome, source: source(row) }));
    },

    async eventRecorded(eventId) {
      return (await query('SELECT 1 FROM attempts WHERE event_id = $1 LIMIT 1', [eventId])).length > 0;
    },

    async deadLetters(q) {
      const where = new Conditions();
      if (q.subscriptionId !== undefined) where.add((p) => `subscription_id = ${p()}`, q.subscriptionId);
      if (q.reason !== undefined) where.add((p) => `reason = ${p()}`, q.reason);
      where.page(q, 'dead_lettered_at', 'id', 'text');
      const rows = await query(
        `SELECT ${deadLetterColumns} FROM dead_letters ${where.where}
          ORDER BY dead_lettered_at DESC, id LIMIT $${where.params.length + 1}`,
        [...where.params, q.limit + 1],
      );
      return {
        deadLetters: rows.slice(0, q.limit).map(deadLetterSummary),
        nextCursor: nextCursor(rows, q.limit, 'id'),
      };
    },

    async deadLetter(id) {
      const [row] = await query(
        `SELECT ${deadLetterColumns}, record_key, record_value, record_headers FROM dead_letters WHERE id = $1`,
        [id],
      );
      return row === undefined ? undefined : deadLetterRecord(row);
    },

    async summarizeDeadLetters(selection) {
      const where = selectionConditions(selection, undefined);
      const rows = await query(
        `SELECT subscription_id, count(*) AS n FROM dead_letters ${where.where} GROUP BY subscription_id`,
        where.params,
      );
      const counts: DeadLetterSummaryCounts = {
        selected: 0,
        bySubscription: {},
        withoutSubscription: 0,
        foundIds: undefined,
      };
      for (const row of rows) {
        const n = Number(row.n);
        counts.selected += n;
        if (row.subscription_id === null) counts.withoutSubscription += n;
        else counts.bySubscription[row.subscription_id as string] = n;
      }
      if (selection.ids !== undefined) {
        const found = await query(`SELECT id FROM dead_letters ${where.where}`, where.params);
        counts.foundIds = found.map((row) => row.id as string);
      }
      return counts;
    },

    async deadLetterBatch(selection, after, limit) {
      const where = selectionConditions(selection, after);
      const rows = await query(
        `SELECT ${deadLetterColumns}, record_key, record_value, record_headers FROM dead_letters
          ${where.where} ORDER BY dead_lettered_at, id LIMIT $${where.params.length + 1}`,
        [...where.params, limit],
      );
      const last = rows.at(-1);
      return {
        letters: rows.map(deadLetterRecord),
        last: last === undefined ? undefined : { at: last.at as string, id: last.id as string },
      };
    },

    close: () => pool.end(),
  };
}
