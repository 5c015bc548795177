import { describe, expect, it } from 'vitest';
import { KeySequencer } from './key-sequencer.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('KeySequencer', () => {
  it('serves one key in call order, each turn after the previous released', async () => {
    const sequencer = new KeySequencer();
    const log: string[] = [];
    const run = async (name: string, key: string, finish: Promise<void>) => {
      const release = await sequencer.acquire(key);
      log.push(`start ${name}`);
      await finish;
      log.push(`end ${name}`);
      release();
    };
    let finishA!: () => void;
    let finishB!: () => void;
    const a = run('a', 'k1', new Promise((resolve) => (finishA = resolve)));
    const b = run('b', 'k1', new Promise((resolve) => (finishB = resolve)));
    const c = run('c', 'k1', Promise.resolve());
    await flush();
    expect(log).toEqual(['start a']);
    finishB();
    await flush();
    expect(log).toEqual(['start a']);
    finishA();
    await Promise.all([a, b, c]);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(sequencer.size()).toBe(0);
  });

  it('runs different keys independently', async () => {
    const sequencer = new KeySequencer();
    const holdK1 = await sequencer.acquire('k1');
    const k2 = await sequencer.acquire('k2');
    k2();
    holdK1();
    await flush();
    expect(sequencer.size()).toBe(0);
  });

  it('keeps the order of later turns when a waiting turn is abandoned', async () => {
    const sequencer = new KeySequencer();
    const first = await sequencer.acquire('k');
    const controller = new AbortController();
    const abandoned = sequencer.acquire('k', controller.signal);
    let thirdStarted = false;
    const third = sequencer.acquire('k').then((release) => {
      thirdStarted = true;
      return release;
    });
    controller.abort(new Error('revoked'));
    await expect(abandoned).rejects.toThrow('revoked');
    await flush();
    expect(thirdStarted).toBe(false);
    first();
    (await third)();
    expect(thirdStarted).toBe(true);
  });
});
