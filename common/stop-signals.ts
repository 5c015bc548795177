import type { Logger } from './logger.js';

export interface StopSignals {
  /** 0 once `shutdown` finished after SIGTERM or SIGINT, 1 if it failed, or what `exit` said. */
  exitCode: Promise<number>;
  /** Settles `exitCode` at once, without shutting down (a fatal error: the process must go). */
  exit(code: number): void;
}

/**
 * The process-wide part of `sluice gateway` and `sluice deliver`: the first SIGTERM or SIGINT runs
 * `shutdown` once; later signals are ignored while it runs.
 */
export function onStopSignal(logger: Logger, shutdown: () => Promise<unknown>): StopSignals {
  let settle: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => (settle = resolve));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    shutdown().then(
      () => settle(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        settle(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return { exitCode, exit: (code) => settle(code) };
}
