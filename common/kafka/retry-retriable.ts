import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries a Kafka admin call on errors kafkajs marks retriable (a partition whose leader is not
 * known yet right after the topic was created, a coordinator still loading). kafkajs retries most
 * calls itself, but not every admin path (ListOffsets surfaces NOT_LEADER_OR_FOLLOWER at once).
 */
export async function retryRetriable<T>(
  call: () => Promise<T>,
  attempts = 6,
  firstDelayMs = 100,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true;
      if (!retriable || attempt >= attempts) throw error;
      await sleep(firstDelayMs * 2 ** (attempt - 1));
    }
  }
}
