import type { ConsumedRecord } from '../common/kafka/index.js';
import type { ClientBase, Pool } from '../common/postgres/index.js';
import { deliveryHeaders } from '../common/retry/retry-records.js';
import type { DeadLetterRecord } from '../common/attempts/dead-letter.js';

/** One record of the dead-letter topic as a row of `dead_letters` (log/migrations/0003_dead_letters.sql). */
export type DeadLetterRow = DeadLetterRecord;

/** PostgreSQL text cannot hold U+0000: it becomes U+FFFD. */
function storable(text: string | undefined): string | null {
  if (text === undefined || text === '') return null;
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

/** `topic/partition/offset` (recordPosition) back into its parts; null when it is not one. */
export function parseOrigin(origin: string | undefined): DeadLetterRow['source'] {
  const match = origin === undefined ? null : /^(.+)\/(\d{1,9})\/(\d{1,19})$/.exec(origin);
  return match ? { topic: match[1]!, partition: Number(match[2]), offset: match[3]! } : null;
}

function wholeNumber(text: string | undefined, max: number): number | null {
  const value = Number(text);
  return text !== undefined && Number.isSafeInteger(value) && value >= 0 && value <= max ? value : null;
}

/**
 * The row of a dead letter. Every field comes from the headers buildDeadLetter writes (the event's
 * own `ce_*` and `sluice_producer` pass through); a poison record lacks some and keeps nulls.
 */
export function deadLetterRow(record: ConsumedRecord): DeadLetterRow {
  const h = record.headers;
  const atMs = wholeNumber(h[deliveryHeaders.deadLetteredAtMs], 8.64e15) ?? record.timestampMs;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) headers[storable(name) ?? name] = storable(value) ?? '';
  return {
    id: `${record.topic}-${record.partition}-${record.offset}`,
    deadLetteredAt: new Date(atMs).toISOString(),
    eventId: storable(h.ce_id),
    eventType: storable(h.ce_type),
    producerId: storable(h.sluice_producer),
    subscriptionId: storable(h[deliveryHeaders.subscriptionId]),
    reason: storable(h[deliveryHeaders.dlqReason]) ?? 'unknown',
    attempts: wholeNumber(h[deliveryHeaders.attempts], 2 ** 31 - 1) ?? 0,
    lastStatus: wholeNumber(h[deliveryHeaders.lastStatus], 32_767),
    lastError: storable(h[deliveryHeaders.lastError]),
    source: parseOrigin(h[deliveryHeaders.origin]),
    key: record.key,
    value: record.value,
    headers,
  };
}

const insertSql = `
INSERT INTO dead_letters (
  id, dead_lettered_at, event_id, event_type, producer_id, subscription_id, reason, attempts,
  last_status, last_error, source_topic, source_partition, source_offset, record_key, record_value,
  record_headers
)
SELECT * FROM unnest(
  $1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
  $8::integer[], $9::smallint[], $10::text[], $11::text[], $12::integer[], $13::bigint[],
  $14::bytea[], $15::bytea[], $16::jsonb[]
)
ON CONFLICT DO NOTHING`;

/** Inserts `rows` in one statement (one array parameter per column, as attempt-rows.ts does). */
export async function insertDeadLetterRows(
  db: Pool | ClientBase,
  rows: readonly DeadLetterRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const cols: unknown[][] = Array.from({ length: 16 }, () => []);
  for (const row of rows) {
    const values = [
      row.id,
      row.deadLetteredAt,
      row.eventId,
      row.eventType,
      row.producerId,
      row.subscriptionId,
      row.reason,
      row.attempts,
      row.lastStatus,
      row.lastError,
      row.source?.topic ?? null,
      row.source?.partition ?? null,
      row.source?.offset ?? null,
      row.key,
      row.value,
      JSON.stringify(row.headers),
    ];
    values.forEach((value, col) => cols[col]!.push(value));
  }
  const result = await db.query(insertSql, cols);
  return result.rowCount ?? 0;
}

/** Rows deleted per statement by retention: short statements, short locks. */
const deleteBatchRows = 5000;

/**
 * Deletes dead letters older than `cutoffMs`, a batch at a time. The table is small (see the
 * migration), so a DELETE by its time index is cheap where it would not be for the attempts.
 */
export async function deleteExpiredDeadLetters(pool: Pool, cutoffMs: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await pool.query(
      `DELETE FROM dead_letters WHERE id IN (
         SELECT id FROM dead_letters WHERE dead_lettered_at < $1 LIMIT ${deleteBatchRows})`,
      [new Date(cutoffMs).toISOString()],
    );
    deleted += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < deleteBatchRows) return deleted;
  }
}
