import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { defineRedisScript } from './redis-script.js';

/** Never connected: defining a command talks to no server. */
function client(): Redis {
  const redis = new Redis({ lazyConnect: true });
  onTestFinished(() => redis.disconnect());
  return redis;
}

describe('defineRedisScript', () => {
  it('reuses the command when a store defines the same script again on a shared client', () => {
    const redis = client();
    const first = defineRedisScript(redis, 'sluiceTestScript', 'return 1');
    const second = defineRedisScript(redis, 'sluiceTestScript', 'return 1');
    expect(typeof first).toBe('function');
    expect(typeof second).toBe('function');
    // Another client is another registry.
    expect(() => defineRedisScript(client(), 'sluiceTestScript', 'return 2')).not.toThrow();
  });

  it('keeps a script out of auto-pipelining only when asked to', () => {
    const redis = new Redis({ lazyConnect: true, enableAutoPipelining: true });
    onTestFinished(() => redis.disconnect());
    defineRedisScript(redis, 'sluiceTestPipelined', 'return 1');
    defineRedisScript(redis, 'sluiceTestDirect', 'return 1', { autoPipelined: false });
    defineRedisScript(redis, 'sluiceTestDirect', 'return 1', { autoPipelined: false });
    expect(redis.options.autoPipeliningIgnoredCommands).toEqual(['sluiceTestDirect']);
    // Other clients keep their own list.
    expect(new Redis({ lazyConnect: true }).options.autoPipeliningIgnoredCommands).toEqual([]);
  });

  it('refuses a name taken by another script or by an ioredis method', () => {
    const redis = client();
    defineRedisScript(redis, 'sluiceTestScript', 'return 1');
    expect(() => defineRedisScript(redis, 'sluiceTestScript', 'return 2')).toThrow(
      'Redis script name sluiceTestScript is already defined with another script',
    );
    expect(() => defineRedisScript(redis, 'get', 'return 1')).toThrow(
      'Redis script name get is already a command of the client',
    );
  });
});
