import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { topicsEnsure } from '../../cli/topics-command.js';
import { connectedAdmin } from '../support/kafka-fixture.js';
import { testKafkaBrokers, uniqueName } from '../support/stack-env.js';

describe('sluice topics ensure', () => {
  it('creates every topic once, grows partitions when config asks for more, and is safe to repeat', async () => {
    const admin = await connectedAdmin();
    const prefix = uniqueName('ensure');
    const env = {
      KAFKA_BROKERS: testKafkaBrokers.join(','),
      SLUICE_EVENTS_TOPIC: `${prefix}.events`,
      SLUICE_RETRY_TOPIC_PREFIX: `${prefix}.retry.`,
      SLUICE_DLQ_TOPIC: `${prefix}.dlq`,
      SLUICE_SUBSCRIPTIONS_TOPIC: `${prefix}.subscriptions`,
      SLUICE_SCHEMAS_TOPIC: `${prefix}.schemas`,
      SLUICE_SOURCES_TOPIC: `${prefix}.sources`,
      SLUICE_ATTEMPTS_TOPIC: `${prefix}.attempts`,
      SLUICE_RETRY_SCHEDULE: '5s,1m',
      SLUICE_EVENTS_PARTITIONS: '3',
      SLUICE_LOG_LEVEL: 'silent',
    };
    const logger = createLogger('test', 'silent');
    const names = [
      `${prefix}.events`,
      `${prefix}.retry.5s`,
      `${prefix}.retry.1m`,
      `${prefix}.dlq`,
      `${prefix}.subscriptions`,
      `${prefix}.schemas`,
      `${prefix}.sources`,
      `${prefix}.attempts`,
    ];
    try {
      const first = await topicsEnsure(env, logger);
      expect(first.created.sort()).toEqual([...names].sort());

      const again = await topicsEnsure(env, logger);
      expect(again.created).toEqual([]);
      expect(again.drift).toEqual([]);
      expect(again.unchanged.sort()).toEqual([...names].sort());

      const grown = await topicsEnsure({ ...env, SLUICE_EVENTS_PARTITIONS: '5' }, logger);
      // The attempts topic is sized like the events topic: it grows with it.
      expect(grown.grown).toEqual([
        { name: `${prefix}.events`, fromPartitions: 3, toPartitions: 5 },
        { name: `${prefix}.attempts`, fromPartitions: 3, toPartitions: 5 },
      ]);

      const metadata = await admin.fetchTopicMetadata({
        topics: [`${prefix}.events`, `${prefix}.subscriptions`],
      });
      expect(metadata.topics.find((t) => t.name === `${prefix}.events`)!.partitions).toHaveLength(5);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: `${prefix}.subscriptions` }],
      });
      const policy = configs.resources[0]!.configEntries.find(
        (entry) => entry.configName === 'cleanup.policy',
      );
      expect(policy?.configValue).toBe('compact');
    } finally {
      await admin.deleteTopics({ topics: names }).catch(() => undefined);
    }
  });
});
