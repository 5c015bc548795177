import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { installMessageGrouping } from './install-message-grouping.js';
import { isKafkajsModuleSwapped } from './kafkajs-module.js';
import { KeyPartitioner } from './key-partitioner.js';
import { groupMessagesPerPartition, type GroupingInput } from './message-grouping.js';
import { loadKafkajsOriginal, randomSource } from '../../test/support/kafkajs-original.js';

const require = createRequire(import.meta.url);
const groupingPath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');

describe('groupMessagesPerPartition', () => {
  it('groups like kafkajs: same partitions, same order, explicit partitions kept', () => {
    const theirs = loadKafkajsOriginal<(input: GroupingInput) => unknown>(
      'kafkajs/src/producer/groupMessagesPerPartition.js',
    );
    const next = randomSource(3);
    for (let round = 0; round < 200; round++) {
      const partitions = 1 + next(24);
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));
      const messages = Array.from({ length: next(500) }, (_, index) => ({
        key: `order-${next(50)}`,
        value: String(index),
        ...(next(8) === 0 ? { partition: next(partitions) } : {}),
      }));
      const input = { topic: 'sluice.events', partitionMetadata, messages, partitioner: KeyPartitioner() };
      expect(groupMessagesPerPartition(input), `round ${round}`).toEqual(theirs(input));
    }
    expect(
      groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: [], partitioner: () => 0 }),
    ).toEqual({});
  });

  it('is what kafkajs uses once the door (index.ts) is imported, with no preload', () => {
    // A fresh process: this test process has loaded kafkajs already.
    const script = `
      await import('./common/kafka/index.ts');
      await import('kafkajs');
      const { createRequire } = await import('node:module');
      const require = createRequire(process.cwd() + '/');
      const cached = require.cache[require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js')];
      const sendMessages = require.cache[require.resolve('kafkajs/src/producer/sendMessages.js')];
      // What sendMessages took is a counting wrapper: ours is the code that calls the partitioner.
      let caller = '';
      const partitioner = () => ((caller = new Error().stack.split('\\n')[2]), 0);
      cached.exports({ topic: 't', partitionMetadata: [{ partitionId: 0 }], messages: [{}], partitioner });
      const ours = caller.includes('groupMessagesPerPartition') && caller.includes('common/kafka/message-grouping.ts');
      console.log(JSON.stringify({ ours, kafkajsLoaded: !!sendMessages }));
    `;
    const output = execFileSync(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(output)).toEqual({ ours: true, kafkajsLoaded: true });
    // In this process kafkajs came first (imported above): the install declines, kafkajs keeps its own.
    expect(kafkajs.Kafka).toBeTypeOf('function');
    expect(installMessageGrouping()).toBe(false);
    expect(require.cache[groupingPath]?.exports).not.toBe(groupMessagesPerPartition);
    expect(isKafkajsModuleSwapped('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(false);
  });
});
