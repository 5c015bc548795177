import { onTestFinished } from 'vitest';
import { createTopicsWithLeaders } from '../../common/kafka/index.js';
import { createLogger } from '../../common/logger.js';
import { findSchemasDir } from '../../schemas/manifest.js';
import { importSchemas, readSchemaFolder } from '../../schemas/registry/import-schemas.js';
import { KafkaSchemaRegistry } from '../../schemas/registry/schema-registry.js';
import { connectedAdmin, testKafka } from './kafka-fixture.js';
import { uniqueName } from './stack-env.js';

const logger = createLogger('test-registry', 'warn');

/**
 * A registry topic of this test (deleted when it finishes): a test that changes the registry must
 * not change the `sluice.schemas` the other suites share. `compactEagerly` sets the topic configs
 * that let the broker's cleaner compact it within seconds; `withExamples` imports the example types
 * (they get the ids of schemas/manifest.json on a fresh topic, which the test helpers encode with).
 */
export async function createRegistryTopic(
  options: { compactEagerly?: boolean; withExamples?: boolean } = {},
): Promise<string> {
  const admin = await connectedAdmin();
  const topic = uniqueName('schemas');
  await createTopicsWithLeaders(admin, [
    {
      topic,
      numPartitions: 1,
      replicationFactor: 1,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        ...(options.compactEagerly === true
          ? [
              { name: 'segment.ms', value: '100' },
              { name: 'min.cleanable.dirty.ratio', value: '0.01' },
              { name: 'min.compaction.lag.ms', value: '0' },
              { name: 'delete.retention.ms', value: '0' },
            ]
          : []),
      ],
    },
  ]);
  onTestFinished(async () => void (await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)));
  if (options.withExamples === true) {
    const registry = new KafkaSchemaRegistry({ kafka: testKafka(), topic, logger, maxWaitTimeMs: 100 });
    await registry.start();
    try {
      await importSchemas(registry, readSchemaFolder(findSchemasDir()));
    } finally {
      await registry.stop();
    }
  }
  return topic;
}

/** A registry of its own reading `topic` from the beginning, as another process would; stopped at the end. */
export async function readRegistry(topic: string): Promise<KafkaSchemaRegistry> {
  const registry = new KafkaSchemaRegistry({ kafka: testKafka(), topic, logger, maxWaitTimeMs: 100 });
  await registry.start();
  onTestFinished(() => registry.stop());
  return registry;
}
