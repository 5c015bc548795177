import { describe, expect, it } from 'vitest';
import { createTickBatcher } from './tick-batcher.js';

/** A flush that records what it was given and doubles each number. */
function doubling() {
  const calls: number[][] = [];
  const flush = async (items: number[]) => {
    calls.push([...items]);
    return items.map((item) => item * 2);
  };
  return { calls, flush };
}

describe('tick batcher', () => {
  it('sends the items of one turn as one call and answers each with its own result', async () => {
    const { calls, flush } = doubling();
    const submit = createTickBatcher(flush, 100);
    const answers = await Promise.all([1, 2, 3].map(submit));
    expect(answers).toEqual([2, 4, 6]);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('gathers items submitted from promise callbacks of the same turn', async () => {
    const { calls, flush } = doubling();
    const submit = createTickBatcher(flush, 100);
    const later = Promise.resolve().then(() => submit(2));
    const answers = await Promise.all([submit(1), later]);
    expect(answers).toEqual([2, 4]);
    expect(calls).toEqual([[1, 2]]);
  });

  it('gathers the items of separate callbacks of one turn of the loop', async () => {
    const { calls, flush } = doubling();
    const submit = createTickBatcher(flush, 100);
    const answers = await new Promise<Array<Promise<number>>>((resolve) => {
      const submitted: Array<Promise<number>> = [];
      // Two timers due together run in one turn of the loop, like two sockets read in one poll.
      setTimeout(() => submitted.push(submit(1)), 1);
      setTimeout(() => {
        submitted.push(submit(2));
        resolve(submitted);
      }, 1);
    });
    expect(await Promise.all(answers)).toEqual([2, 4]);
    expect(calls).toEqual([[1, 2]]);
  });

  it('starts a new call for items submitted after the flush', async () => {
    const { calls, flush } = doubling();
    const submit = createTickBatcher(flush, 100);
    expect(await submit(1)).toBe(2);
    expect(await submit(2)).toBe(4);
    expect(calls).toEqual([[1], [2]]);
  });

  it('splits a turn into calls of at most maxItems, in order', async () => {
    const { calls, flush } = doubling();
    const submit = createTickBatcher(flush, 2);
    const answers = await Promise.all([1, 2, 3, 4, 5].map(submit));
    expect(answers).toEqual([2, 4, 6, 8, 10]);
    expect(calls).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects every item of a failed call, and only those', async () => {
    let call = 0;
    const submit = createTickBatcher(async (items: number[]) => {
      call += 1;
      if (call === 1) throw new Error('redis went away');
      return items;
    }, 2);
    const answers = await Promise.allSettled([1, 2, 3].map(submit));
    expect(answers.map((answer) => answer.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect((answers[0] as PromiseRejectedResult).reason).toEqual(new Error('redis went away'));
  });

  it('rejects a flush that throws before returning a promise', async () => {
    const submit = createTickBatcher((): Promise<number[]> => {
      throw new Error('bad arguments');
    }, 10);
    await expect(submit(1)).rejects.toThrow('bad arguments');
  });

  it('rejects the items when the flush answers a wrong number of results', async () => {
    const submit = createTickBatcher(async (items: number[]) => items.slice(1), 10);
    const answers = await Promise.allSettled([1, 2].map(submit));
    expect(answers.every((answer) => answer.status === 'rejected')).toBe(true);
    expect((answers[0] as PromiseRejectedResult).reason).toEqual(new Error('a batch of 2 got 1 results'));
  });

  it('refuses a batch size that is not a positive integer', () => {
    expect(() => createTickBatcher(async (items: number[]) => items, 0)).toThrow('maxItems');
  });
});
