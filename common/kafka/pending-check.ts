/** What a kafkajs request queue knows when it decides whether to check its pending requests later. */
export interface PendingCheckState {
  /** Requests waiting to be written to the socket. */
  pendingCount: number;
  /** Requests written and not yet answered, timed out or rejected. */
  inflightCount: number;
  /** The connection's limit on `inflightCount`; null or undefined: none. */
  maxInFlightRequests: number | null | undefined;
  /** Until when the broker asked the client to hold back (KIP-219), ms since the epoch; -1: never. */
  throttledUntilMs: number;
}

/**
 * In how many ms the pending requests can be sent, or undefined when no timer has to wake the queue
 * for them: nothing waits, or a slot frees only when a request in flight is answered or times out,
 * and kafkajs checks the queue at both. A throttle that ran out between the caller's check and
 * this one gives 0: the requests go on the next turn of the event loop rather than never.
 */
export function pendingCheckDelayMs(state: PendingCheckState, nowMs: number): number | undefined {
  if (state.pendingCount === 0) return undefined;
  const throttledForMs = state.throttledUntilMs - nowMs;
  if (throttledForMs > 0) return throttledForMs;
  const { maxInFlightRequests, inflightCount } = state;
  if (maxInFlightRequests != null && inflightCount >= maxInFlightRequests) return undefined;
  return 0;
}

/** The fields of kafkajs's RequestQueue (network/requestQueue/index.js) the check reads and sets. */
export interface RequestQueueFields {
  pending: readonly unknown[];
  inflight: ReadonlyMap<unknown, unknown>;
  maxInFlightRequests: number | null | undefined;
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
}

/**
 * RequestQueue#scheduleCheckPendingRequests, which kafkajs calls after every response, timeout and
 * enqueued request: arms the queue's one timer for when its pending requests can be sent, and
 * only then. kafkajs 2.2.4 arms it whatever the queue holds, and with nothing pending and no
 * throttle its delay is negative, which Node runs as 1 ms; the timer's callback schedules the next,
 * so every connection that has had one response wakes its process a thousand times a second for
 * as long as it is open.
 */
export function schedulePendingCheck(this: RequestQueueFields): void {
  if (this.throttleCheckTimeoutId) return;
  const delayMs = pendingCheckDelayMs(
    {
      pendingCount: this.pending.length,
      inflightCount: this.inflight.size,
      maxInFlightRequests: this.maxInFlightRequests,
      throttledUntilMs: this.throttledUntil,
    },
    Date.now(),
  );
  if (delayMs === undefined) return;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delayMs);
}
