/**
 * The queueing delay of the publisher, as CoDel measures it: the sojourn of requests in the queue,
 * from enqueue until their records are handed to Kafka, never the time their own produce takes.
 *
 * A sample is taken at each hand-off: the sojourn of the youngest request in the batch, or 0 when
 * the batch emptied the queue (whatever waited before, nothing is left waiting). The delay reported
 * is the smallest sample of the last `intervalMs`: it is above a threshold only when every hand-off
 * of a whole interval left requests that had waited longer, i.e. when a backlog stands. One slow
 * produce (a cold start's metadata and leader lookups, a broker pause) is followed by a hand-off
 * that takes everything queued behind it, so it reads as no queueing, however long it took.
 *
 * Between hand-offs the last sample stands for the queue, so a stall that follows a standing backlog
 * keeps reporting it; a stall of an otherwise drained queue is answered by the send deadline and
 * the pending-events and pending-bytes signals, not by this one.
 */
export interface StandingQueue {
  /** Records a hand-off at `nowMs`: the youngest sojourn in the batch, and whether requests remain queued. */
  handOff(youngestEnqueuedMs: number, queueEmptyAfter: boolean, nowMs: number): void;
  /** The smallest sojourn sample of the last interval, in ms (0 when nothing has queued). */
  delayMs(nowMs: number): number;
}

export function createStandingQueue(intervalMs: number): StandingQueue {
  // Samples of the last interval, oldest first; samples that can no longer be the minimum are
  // dropped on insertion (a monotonic queue), so the minimum is always the first and the newest
  // sample always the last.
  const times: number[] = [];
  const sojourns: number[] = [];

  function expire(nowMs: number): void {
    // Keep the newest sample even when it is older than the interval: it describes the queue
    // until the next hand-off.
    while (times.length > 1 && times[0]! < nowMs - intervalMs) {
      times.shift();
      sojourns.shift();
    }
  }

  return {
    handOff(youngestEnqueuedMs, queueEmptyAfter, nowMs) {
      const sojournMs = queueEmptyAfter ? 0 : Math.max(0, nowMs - youngestEnqueuedMs);
      while (sojourns.length > 0 && sojourns.at(-1)! >= sojournMs) {
        sojourns.pop();
        times.pop();
      }
      times.push(nowMs);
      sojourns.push(sojournMs);
      expire(nowMs);
    },
    delayMs(nowMs) {
      expire(nowMs);
      return sojourns[0] ?? 0;
    },
  };
}
