import { performance } from 'node:perf_hooks';
import { priorities, type Priority } from './priority.js';

export const shedReasons = [
  'pending-events',
  'pending-bytes',
  'queue-delay',
  'event-loop-delay',
  'heap',
] as const;
export type ShedReason = (typeof shedReasons)[number];

/** Live signals, read once per decision. The provider must be cheap: it runs before every request. */
export interface LoadSignals {
  /** Events handed to the Kafka producer and not yet acknowledged. */
  readonly pendingEvents: number;
  /** Bytes of those events. */
  readonly pendingBytes: number;
  /**
   * Queueing delay in ms: how long requests wait before their records are handed to Kafka, as the
   * smallest wait of the last interval (CoDel's sojourn rule, see gateway/publish/standing-queue.ts).
   * It is above zero only while a backlog stands; a slow produce, whose own duration is not
   * queueing, does not raise it.
   */
  readonly queueDelayMs: number;
  /** Event-loop delay over the last sampling window (e.g. p99), in ms. */
  readonly eventLoopDelayMs: number;
  readonly heapUsedBytes: number;
  /** EWMA of events acknowledged by Kafka per second: how fast the backlog drains (for Retry-After). */
  readonly drainEventsPerSecond: number;
}

/** Thresholds at 100 %; a limit of 0 disables that signal. */
export interface LoadShedderConfig {
  /** Events awaiting Kafka acks. Size it as capacity × tolerable queueing delay (Little's law). */
  readonly maxPendingEvents: number;
  readonly maxPendingBytes: number;
  /** Standing queueing delay before the hand-off to Kafka, in ms (see `LoadSignals.queueDelayMs`). */
  readonly maxQueueDelayMs: number;
  /** The interval over which the smallest queueing delay is taken, in ms (CoDel's interval). */
  readonly queueDelayIntervalMs: number;
  readonly maxEventLoopDelayMs: number;
  readonly maxHeapUsedBytes: number;
  /** Fraction of each limit at which a class starts being shed; bulk ≤ normal ≤ critical, each in (0, 1]. */
  readonly shedFractions: Readonly<Record<Priority, number>>;
  /**
   * A class is shed only after the class below it has been shed this long (ms), so a spike of one
   * signal cannot refuse critical traffic while bulk traffic is still admitted.
   */
  readonly escalateAfterMs: number;
  /** A class shed goes on being shed until its signals have stayed below its level this long (ms). */
  readonly recoverAfterMs: number;
  /** Normal traffic shed for this long (ms) makes the gateway report sustained overload. */
  readonly sustainedOverloadMs: number;
  /** Sustained overload clears after normal traffic has been admitted for this long (ms). */
  readonly overloadRecoveryMs: number;
  readonly minRetryAfterSeconds: number;
  readonly maxRetryAfterSeconds: number;
}

export const defaultLoadShedderConfig: LoadShedderConfig = Object.freeze({
  maxPendingEvents: 20_000,
  maxPendingBytes: 64 * 1024 * 1024,
  maxQueueDelayMs: 50,
  queueDelayIntervalMs: 100,
  maxEventLoopDelayMs: 100,
  maxHeapUsedBytes: 0,
  shedFractions: Object.freeze({ bulk: 0.5, normal: 0.8, critical: 1 }),
  escalateAfterMs: 500,
  recoverAfterMs: 1000,
  sustainedOverloadMs: 30_000,
  overloadRecoveryMs: 10_000,
  minRetryAfterSeconds: 1,
  maxRetryAfterSeconds: 30,
});

export type AdmitDecision =
  | { readonly admit: true }
  | { readonly admit: false; readonly reason: ShedReason; readonly retryAfterSeconds: number };

export interface LoadShedder {
  /** Whether to admit a request of this class. Synchronous: call it before reading the body. */
  admit(priority: Priority): AdmitDecision;
  /** Whether this class would be shed now (for the `sluice_load_shedding_active` gauge). */
  isShedding(priority: Priority): boolean;
  /**
   * True once normal-priority traffic has been shed for `sustainedOverloadMs` (with gaps shorter than
   * `overloadRecoveryMs`), until it has been admitted for `overloadRecoveryMs`. For readiness.
   */
  sustainedOverload(): boolean;
}

/** Names used in problem messages: the config field, or (from the env loader) its variable. */
export type ShedderFieldNames = (
  field: keyof Omit<LoadShedderConfig, 'shedFractions'> | `shedFractions.${Priority}`,
) => string;

/** Every problem with a shedder config, each naming the field and the bad value (empty when valid). */
export function loadShedderConfigProblems(
  config: LoadShedderConfig,
  nameOf: ShedderFieldNames = (field) => field,
): string[] {
  const problems: string[] = [];
  const limits = [
    'maxPendingEvents',
    'maxPendingBytes',
    'maxQueueDelayMs',
    'maxEventLoopDelayMs',
    'maxHeapUsedBytes',
  ] as const;
  for (const field of limits) {
    const value = config[field];
    if (!(Number.isFinite(value) && value >= 0)) problems.push(`${nameOf(field)} must be ≥ 0, got ${value}`);
  }
  for (const priority of priorities) {
    const fraction = config.shedFractions[priority];
    if (!(fraction > 0 && fraction <= 1)) {
      problems.push(`${nameOf(`shedFractions.${priority}`)} must be in (0, 1], got ${fraction}`);
    }
  }
  const { bulk, normal, critical } = config.shedFractions;
  if (!(bulk <= normal && normal <= critical)) {
    const names = priorities.map((priority) => nameOf(`shedFractions.${priority}`)).reverse();
    problems.push(`${names.join(' ≤ ')} must hold, got ${bulk}, ${normal}, ${critical}`);
  }
  if (!(config.queueDelayIntervalMs > 0)) {
    problems.push(`${nameOf('queueDelayIntervalMs')} must be > 0, got ${config.queueDelayIntervalMs}`);
  }
  for (const field of [
    'sustainedOverloadMs',
    'overloadRecoveryMs',
    'escalateAfterMs',
    'recoverAfterMs',
  ] as const) {
    if (!(config[field] >= 0)) problems.push(`${nameOf(field)} must be ≥ 0, got ${config[field]}`);
  }
  const { minRetryAfterSeconds: min, maxRetryAfterSeconds: max } = config;
  if (!(Number.isInteger(min) && min >= 1)) {
    problems.push(`${nameOf('minRetryAfterSeconds')} must be a whole number ≥ 1, got ${min}`);
  }
  if (!(Number.isInteger(max) && max >= min)) {
    problems.push(
      `${nameOf('maxRetryAfterSeconds')} must be a whole number ≥ ${nameOf('minRetryAfterSeconds')}, got ${max}`,
    );
  }
  return problems;
}

const admitted: AdmitDecision = Object.freeze({ admit: true });

/**
 * Load shedding from live signals, decided before the body is read. Each signal is compared with
 * its limit as a ratio, and the highest ratio is the pressure. A class starts being shed when the
 * pressure exceeds its fraction (bulk 50 %, normal 80 %, critical only above the limit), but only
 * after every class below it has been shed for `escalateAfterMs`; once shed, it stays shed until
 * the pressure has stayed below its fraction for `recoverAfterMs`. So classes are shed strictly in
 * order, least important first: a momentary spike sheds bulk traffic, never critical traffic while
 * bulk traffic still gets in, and a class does not flap in and out with every fluctuation.
 */
export function createLoadShedder(
  config: LoadShedderConfig,
  options: {
    readonly signals: () => LoadSignals;
    readonly nowMs?: () => number;
    /** A class started or stopped being shed (for one log line per change, not per request). */
    readonly onClassChange?: (change: { priority: Priority; shed: boolean; pressure: number }) => void;
  },
): LoadShedder {
  const problems = loadShedderConfigProblems(config);
  if (problems.length > 0) throw new RangeError(`invalid load shedder config: ${problems.join('; ')}`);
  const nowMs = options.nowMs ?? (() => performance.now());
  const overload = createOverloadTracker(config);

  // `ratio` per reason; 0 when the limit is disabled (0) so it can never trigger.
  function ratios(signals: LoadSignals): Record<ShedReason, number> {
    return {
      'pending-events': ratio(signals.pendingEvents, config.maxPendingEvents),
      'pending-bytes': ratio(signals.pendingBytes, config.maxPendingBytes),
      'queue-delay': ratio(signals.queueDelayMs, config.maxQueueDelayMs),
      'event-loop-delay': ratio(signals.eventLoopDelayMs, config.maxEventLoopDelayMs),
      heap: ratio(signals.heapUsedBytes, config.maxHeapUsedBytes),
    };
  }

  function pressure(byReason: Record<ShedReason, number>): number {
    return Math.max(
      byReason['pending-events'],
      byReason['pending-bytes'],
      byReason['queue-delay'],
      byReason['event-loop-delay'],
      byReason.heap,
    );
  }

  /**
   * Retry-After from the drain rate: the time Kafka acks need to bring the backlog back under the
   * class's admit level. Event-loop delay and heap have no drain of their own; both are driven by
   * the work in flight, so for them it is the time to drain the whole backlog.
   */
  function drainSeconds(reason: ShedReason, signals: LoadSignals, fraction: number): number {
    const rate = signals.drainEventsPerSecond;
    let excessEvents: number;
    if (reason === 'pending-events') {
      excessEvents = signals.pendingEvents - fraction * config.maxPendingEvents;
    } else if (reason === 'pending-bytes') {
      const bytesPerEvent =
        signals.pendingEvents > 0 ? signals.pendingBytes / signals.pendingEvents : Infinity;
      excessEvents = (signals.pendingBytes - fraction * config.maxPendingBytes) / bytesPerEvent;
    } else {
      excessEvents = signals.pendingEvents;
    }
    if (!(excessEvents > 0)) return config.minRetryAfterSeconds;
    if (!(rate > 0)) return config.maxRetryAfterSeconds; // nothing drains: Kafka is stalled
    const seconds = Math.ceil(excessEvents / rate);
    return Math.min(config.maxRetryAfterSeconds, Math.max(config.minRetryAfterSeconds, seconds));
  }

  /** Per class, since when it is shed and since when its pressure is below its level (ms). */
  const classes: Record<Priority, { shedSinceMs?: number; calmSinceMs?: number }> = {
    bulk: {},
    normal: {},
    critical: {},
  };

  /** Moves each class in or out of shedding, least important first (see the function's comment). */
  function updateClasses(highest: number, now: number): void {
    let belowShedSinceMs: number | undefined = -Infinity; // nothing below bulk: it may start at once
    for (const priority of sheddingOrder) {
      const state = classes[priority];
      const over = highest > config.shedFractions[priority];
      if (state.shedSinceMs !== undefined) {
        if (over) state.calmSinceMs = undefined;
        else state.calmSinceMs ??= now;
        const recovered = state.calmSinceMs !== undefined && now - state.calmSinceMs >= config.recoverAfterMs;
        if (recovered || belowShedSinceMs === undefined) {
          state.shedSinceMs = state.calmSinceMs = undefined;
          options.onClassChange?.({ priority, shed: false, pressure: highest });
        }
      } else if (over && belowShedSinceMs !== undefined && now - belowShedSinceMs >= config.escalateAfterMs) {
        state.shedSinceMs = now;
        options.onClassChange?.({ priority, shed: true, pressure: highest });
      }
      belowShedSinceMs = state.shedSinceMs;
    }
  }

  function evaluate(priority: Priority): AdmitDecision {
    const signals = options.signals();
    const byReason = ratios(signals);
    const highest = pressure(byReason);
    const now = nowMs();
    updateClasses(highest, now);
    overload.observe(classes.normal.shedSinceMs !== undefined, now);
    if (classes[priority].shedSinceMs === undefined) return admitted;
    const fraction = config.shedFractions[priority];
    // The reason reported is the signal furthest over the class's level (the first in
    // `shedReasons` on a tie); while a class recovers, the signal nearest to that level.
    let reason: ShedReason = shedReasons[0];
    let retryAfterSeconds = config.minRetryAfterSeconds;
    for (const candidate of shedReasons) {
      if (byReason[candidate] > byReason[reason]) reason = candidate;
      if (!(byReason[candidate] > fraction)) continue;
      // The client must wait for every exceeded signal to recover, so the longest wait wins.
      retryAfterSeconds = Math.max(retryAfterSeconds, drainSeconds(candidate, signals, fraction));
    }
    return { admit: false, reason, retryAfterSeconds };
  }

  return {
    admit: evaluate,
    isShedding: (priority) => !evaluate(priority).admit,
    sustainedOverload() {
      const now = nowMs();
      updateClasses(pressure(ratios(options.signals())), now);
      return overload.observe(classes.normal.shedSinceMs !== undefined, now);
    },
  };
}

/** Classes in the order they are shed: least important first. */
const sheddingOrder: readonly Priority[] = [...priorities].reverse();

function ratio(value: number, limit: number): number {
  return limit > 0 && Number.isFinite(value) ? value / limit : 0;
}

/**
 * Hysteresis for readiness: turns on after `sustainedOverloadMs` of shedding (gaps shorter than
 * `overloadRecoveryMs` do not restart the count) and off only after `overloadRecoveryMs` without.
 * Failing readiness moves traffic to other gateways; flapping it would move traffic back and forth.
 */
function createOverloadTracker(config: LoadShedderConfig): {
  observe(shedding: boolean, nowMs: number): boolean;
} {
  let sheddingSinceMs: number | undefined;
  let calmSinceMs: number | undefined;
  let sustained = false;
  return {
    observe(shedding, nowMs) {
      if (shedding) {
        calmSinceMs = undefined;
        sheddingSinceMs ??= nowMs;
        if (nowMs - sheddingSinceMs >= config.sustainedOverloadMs) sustained = true;
      } else {
        calmSinceMs ??= nowMs;
        if (nowMs - calmSinceMs >= config.overloadRecoveryMs) {
          sheddingSinceMs = undefined;
          sustained = false;
        }
      }
      return sustained;
    },
  };
}
