import { Redis } from 'ioredis';
import { kafkaPid } from '../../cli/stack/kafka-broker.js';
import { stackPaths } from '../../cli/stack/paths.js';
import type { ProcessRoles } from './process-cpu.js';

/** The broker this stack runs, and the Redis server when it runs on this machine (its own pid). */
export async function stackProcesses(stack: { redisUrl: string }): Promise<ProcessRoles> {
  const redis = new Redis(stack.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const host = new URL(stack.redisUrl).hostname;
    const local = host === '127.0.0.1' || host === 'localhost' || host === '::1';
    const pid = /process_id:(\d+)/.exec(await redis.info('server'))?.[1];
    return { broker: kafkaPid({ paths: stackPaths() }), redis: local && pid ? Number(pid) : undefined };
  } finally {
    redis.disconnect();
  }
}
