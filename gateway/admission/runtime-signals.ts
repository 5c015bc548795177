import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface RuntimeSignalsOptions {
  /** Length of one sampling window in ms; the values read are those of the last full window. Default 1000. */
  readonly sampleIntervalMs?: number;
  /** Event-loop timer resolution in ms (the histogram's sampling period). Default 10. */
  readonly resolutionMs?: number;
  /** Percentile of the window's delays to report, 1..100. Default 50 (see admission-config.ts). */
  readonly percentile?: number;
  /** Source of heap usage (injectable for tests). Default `process.memoryUsage`. */
  readonly memoryUsage?: () => { heapUsed: number };
}

export interface RuntimeSignals {
  /** Event-loop delay (the chosen percentile) over the last window, in ms. */
  eventLoopDelayMs(): number;
  /** Heap used at the end of the last window, in bytes. */
  heapUsedBytes(): number;
  /** Closes the current window now (the timer calls this every `sampleIntervalMs`). */
  sample(): void;
  stop(): void;
}

/**
 * Samples event-loop delay and heap on an interval, so the load shedder reads two numbers per
 * request instead of touching a histogram or `process.memoryUsage()` (which reads /proc for RSS).
 * The histogram is reset after each window: a delay spike then counts for one window, not for
 * the rest of the process's life. The timer is unref'd so it never keeps a shutting-down
 * process alive.
 */
export function createRuntimeSignals(options: RuntimeSignalsOptions = {}): RuntimeSignals {
  const sampleIntervalMs = options.sampleIntervalMs ?? 1000;
  const resolutionMs = options.resolutionMs ?? 10;
  const percentile = options.percentile ?? 50;
  const memoryUsage = options.memoryUsage ?? (() => process.memoryUsage());
  if (!(resolutionMs >= 1 && sampleIntervalMs >= resolutionMs)) {
    throw new RangeError(
      `sampleIntervalMs (${sampleIntervalMs}) must be ≥ resolutionMs (${resolutionMs}) ≥ 1`,
    );
  }
  if (!(percentile > 0 && percentile <= 100))
    throw new RangeError(`percentile must be in (0, 100], got ${percentile}`);

  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  let eventLoopDelayMs = 0;
  let heapUsedBytes = memoryUsage().heapUsed;

  function sample(): void {
    // Node records the interval between the histogram's timer callbacks, which includes the timer
    // period itself (an idle loop reads ≈ resolutionMs), so the period is subtracted.
    eventLoopDelayMs =
      histogram.count > 0 ? Math.max(0, histogram.percentile(percentile) / 1e6 - resolutionMs) : 0;
    histogram.reset();
    heapUsedBytes = memoryUsage().heapUsed;
  }

  const timer = setInterval(sample, sampleIntervalMs);
  timer.unref();

  return {
    eventLoopDelayMs: () => eventLoopDelayMs,
    heapUsedBytes: () => heapUsedBytes,
    sample,
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
