import type { AttemptRecord } from '../common/attempts/attempt-record.js';
import type { ClientBase, Pool } from '../common/postgres/index.js';

/**
 * One multi-row INSERT per chunk: each column travels as one array parameter and `unnest` turns
 * the arrays back into rows, so a chunk of any size is one statement, one round trip and one plan
 * (no parameter-count limit, nothing to build per row). A row already there (a record read twice)
 * is skipped by the primary key; `rowCount` is the rows actually added.
 */
const insertSql = `
INSERT INTO attempts (
  attempt_id, attempted_at, event_id, event_type, producer_id, subscription_id, attempt,
  latency_ms, status_code, error_class, response_headers, response_body, response_body_truncated,
  outcome, next_attempt_at, replay_id, source_topic, source_partition, source_offset
)
SELECT * FROM unnest(
  $1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[],
  $8::double precision[], $9::smallint[], $10::text[], $11::jsonb[], $12::text[], $13::boolean[],
  $14::text[], $15::timestamptz[], $16::text[], $17::text[], $18::integer[], $19::bigint[]
)
ON CONFLICT DO NOTHING`;

/** PostgreSQL text cannot hold U+0000 (a binary response body may): it becomes U+FFFD. */
function storable(text: string): string;
function storable(text: string | null): string | null;
function storable(text: string | null): string | null {
  return text === null || !text.includes('\0') ? text : text.replaceAll('\0', '\uFFFD');
}

function columns(records: readonly AttemptRecord[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 19 }, () => new Array<unknown>(records.length));
  records.forEach((record, row) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(record.responseHeaders)) headers[name] = storable(value);
    const values = [
      record.attemptId,
      record.attemptedAt,
      storable(record.eventId),
      storable(record.eventType),
      storable(record.producerId),
      storable(record.subscriptionId),
      record.attempt,
      record.latencyMs,
      record.statusCode,
      storable(record.errorClass),
      JSON.stringify(headers),
      storable(record.responseBody),
      record.responseBodyTruncated,
      record.outcome,
      record.nextAttemptAt,
      storable(record.replayId),
      storable(record.sourceTopic ?? null),
      record.sourcePartition ?? null,
      record.sourceOffset ?? null,
    ];
    values.forEach((value, col) => {
      cols[col]![row] = value;
    });
  });
  return cols;
}

/** Inserts `records` (one statement); resolves to the number of rows added. */
export async function insertAttemptRows(
  db: Pool | ClientBase,
  records: readonly AttemptRecord[],
): Promise<number> {
  if (records.length === 0) return 0;
  const result = await db.query(insertSql, columns(records));
  return result.rowCount ?? 0;
}
