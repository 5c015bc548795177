/**
 * Sends many small requests as a few large ones. `flush` receives the items submitted in one turn
 * of the event loop, in submission order, at most `maxItems` at a time, and answers one result per
 * item, in the same order. A rejected flush rejects every item it carried.
 */
export type TickBatcher<Item, Result> = (item: Item) => Promise<Result>;

interface Waiting<Result> {
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * The flush runs on `setImmediate`, after every I/O callback of this turn of the event loop, so
 * the items of, say, all the HTTP answers read in one turn share a call. That adds up to one turn
 * of delay (milliseconds when the loop is saturated), as ioredis's auto-pipelining does for a lone
 * command. (`process.nextTick` gathered one item at a time in the delivery worker, whose answers
 * each arrive in a callback of their own.) A flush that sends a Redis command should skip
 * auto-pipelining (`defineRedisScript`'s `autoPipelined: false`), or it waits one more turn.
 */
export function createTickBatcher<Item, Result>(
  flush: (items: Item[]) => Promise<readonly Result[]>,
  maxItems: number,
): TickBatcher<Item, Result> {
  if (!Number.isInteger(maxItems) || maxItems < 1) throw new Error(`maxItems must be a positive integer`);
  let items: Item[] = [];
  let waiting: Array<Waiting<Result>> = [];

  function send(batch: Item[], batchWaiting: Array<Waiting<Result>>): void {
    let answer: Promise<readonly Result[]>;
    try {
      answer = flush(batch);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (results) => {
        if (results.length !== batch.length) {
          const error = new Error(`a batch of ${batch.length} got ${results.length} results`);
          for (const one of batchWaiting) one.reject(error);
          return;
        }
        for (let index = 0; index < batchWaiting.length; index++)
          batchWaiting[index]!.resolve(results[index]!);
      },
      (error: unknown) => {
        for (const one of batchWaiting) one.reject(error);
      },
    );
  }

  function flushAll(): void {
    const batch = items;
    const batchWaiting = waiting;
    items = [];
    waiting = [];
    if (batch.length <= maxItems) return send(batch, batchWaiting);
    for (let start = 0; start < batch.length; start += maxItems) {
      send(batch.slice(start, start + maxItems), batchWaiting.slice(start, start + maxItems));
    }
  }

  return (item) =>
    new Promise<Result>((resolve, reject) => {
      if (items.length === 0) setImmediate(flushAll);
      items.push(item);
      waiting.push({ resolve, reject });
    });
}
