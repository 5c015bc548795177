import kafkajs, { type SASLOptions } from 'kafkajs';
import type { Logger } from '../logger.js';
import type { KafkaSettings } from './kafka-settings.js';

export const { Kafka, logLevel, Partitioners } = kafkajs;
export type KafkaClient = InstanceType<typeof Kafka>;

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * One kafkajs client per process, logging through pino. kafkajs logs transient coordinator
 * errors at ERROR while it retries them (e.g. "coordinator is loading" right after a broker start,
 * "the group is rebalancing" in a heartbeat answer, "not the leader" while a new partition's leader
 * takes over); those are demoted to warn so alerts on error logs mean something. Sluice's
 * replacements of kafkajs modules are in place before this runs: the door (index.ts) installs
 * them when it is imported (install-replacements.ts).
 */
export function createKafkaClient(settings: KafkaSettings, logger: Logger): KafkaClient {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ssl: settings.tls,
    // The settings type is the union kafkajs expects, but TypeScript cannot narrow it across the spread.
    sasl: settings.sasl as SASLOptions | undefined,
    connectionTimeout: settings.connectTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, timestamp: _timestamp, logger: _name, ...rest } = log;
        const retriable =
          typeof rest.error === 'string' &&
          /loading|not available|not the correct|not the leader|rebalancing/i.test(rest.error);
        const name = retriable && level === logLevel.ERROR ? 'warn' : (levelNames[level] ?? 'info');
        kafkaLogger[name](rest, message);
      },
  });
}
