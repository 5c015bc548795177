import kafkajs, { type SASLOptions } from 'kafkajs';
import type { Logger } from '../logger.js';
import { installPendingCheck } from './install-pending-check.js';
import { installRecordDecoder } from './install-record-decoder.js';
import { installProduceRequest } from './install-produce-request.js';
import { installRecordEncoder } from './install-record-encoder.js';
import type { KafkaSettings } from './kafka-settings.js';

const { Kafka, logLevel } = kafkajs;
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
 * takes over); those are demoted to warn so alerts on error logs mean something. Records are
 * encoded and decoded by Sluice's own code (install-record-encoder.ts, install-produce-request.ts,
 * install-record-decoder.ts), and connections arm their pending-request timer only when a request
 * waits for it (install-pending-check.ts).
 */
export function createKafkaClient(settings: KafkaSettings, logger: Logger): KafkaClient {
  installRecordEncoder();
  installProduceRequest();
  installRecordDecoder();
  installPendingCheck();
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
