import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { latencyBucketsSeconds } from '../common/metrics.js';

/** How one try of a batch ended: stored, PostgreSQL unreachable or too slow, or refused for another reason. */
export type BatchResult = 'written' | 'unavailable' | 'failed';

export interface LogMetrics {
  rowsWritten: Counter;
  duplicates: Counter;
  skipped: Counter<'reason'>;
  batches: Counter<'result'>;
  writeDuration: Histogram;
  lag: Gauge<'partition'>;
  databaseAvailable: Gauge;
  partitionsCreated: Counter;
  partitionsDropped: Counter;
}

export function createLogMetrics(registry: Registry): LogMetrics {
  const registers = [registry];
  return {
    rowsWritten: new Counter({
      name: 'sluice_log_rows_written_total',
      help: 'Attempt rows added to PostgreSQL.',
      registers,
    }),
    duplicates: new Counter({
      name: 'sluice_log_duplicate_records_total',
      help: 'Attempt records read again whose row was already stored (skipped by its key).',
      registers,
    }),
    skipped: new Counter({
      name: 'sluice_log_records_skipped_total',
      help: 'Attempt records not stored, by reason: invalid (unreadable), expired (past retention), future (dated days ahead), rejected (PostgreSQL refused the row).',
      labelNames: ['reason'],
      registers,
    }),
    batches: new Counter({
      name: 'sluice_log_batches_total',
      help: 'Tries to store a batch, by result: written, unavailable (PostgreSQL down or too slow), failed.',
      labelNames: ['result'],
      registers,
    }),
    writeDuration: new Histogram({
      name: 'sluice_log_write_duration_seconds',
      help: 'Time to store one batch that was stored.',
      buckets: latencyBucketsSeconds,
      registers,
    }),
    lag: new Gauge({
      name: 'sluice_log_lag_records',
      help: 'Attempt records in Kafka not yet stored (end offset minus committed offset), per partition of the attempts topic.',
      labelNames: ['partition'],
      registers,
    }),
    databaseAvailable: new Gauge({
      name: 'sluice_log_database_available',
      help: '1 while the last call to PostgreSQL succeeded, 0 during an outage.',
      registers,
    }),
    partitionsCreated: new Counter({
      name: 'sluice_log_partitions_created_total',
      help: 'Daily partitions of the attempts table created.',
      registers,
    }),
    partitionsDropped: new Counter({
      name: 'sluice_log_partitions_dropped_total',
      help: 'Daily partitions of the attempts table dropped past retention.',
      registers,
    }),
  };
}
