import type { EnvReader } from '../config.js';
import { defaultRetrySchedule, parseRetrySchedule } from './retry-schedule.js';

/**
 * The global delivery settings a subscription's own retry schedule and timeout must stay within.
 * Read by the delivery workers (which apply them) and by the gateway (which refuses a subscription
 * outside them when it is saved) through this one function, so both accept the same values; the
 * gateway must therefore be given the workers' values.
 */
export interface DeliveryBounds {
  /** `SLUICE_RETRY_SCHEDULE`, default `5s,30s,2m,10m,30m,1h,3h,6h,12h`: one delay per retry tier. */
  readonly retryDelaysMs: readonly number[];
  /** `SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS`, default 15 s: connect, headers and body of one attempt. */
  readonly attemptTimeoutMs: number;
}

export const defaultAttemptTimeoutMs = 15_000;
/** The shortest attempt timeout, global or a subscription's own. */
export const minAttemptTimeoutMs = 100;
const maxAttemptTimeoutMs = 300_000;

export function readDeliveryBounds(reader: EnvReader): DeliveryBounds {
  const schedule = parseRetrySchedule(reader.string('SLUICE_RETRY_SCHEDULE', defaultRetrySchedule));
  if ('problem' in schedule) reader.problem(schedule.problem);
  return {
    retryDelaysMs: 'delaysMs' in schedule ? schedule.delaysMs : [],
    attemptTimeoutMs: reader.durationMs('SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS', defaultAttemptTimeoutMs, {
      min: minAttemptTimeoutMs,
      max: maxAttemptTimeoutMs,
    }),
  };
}
