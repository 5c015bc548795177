import {
  createKafkaClient,
  planTopics,
  readKafkaSettings,
  readTopicSettings,
} from '../../common/kafka/index.js';
import { EnvReader } from '../../common/config.js';
import { createLogger } from '../../common/logger.js';
import { findSchemasDir, readManifest } from '../../schemas/manifest.js';
import { importSchemas, readSchemaFolder } from '../../schemas/registry/import-schemas.js';
import { KafkaSchemaRegistry } from '../../schemas/registry/schema-registry.js';
import { testKafkaBrokers } from './stack-env.js';

/**
 * Global setup of the integration suites: imports the example catalog into the registry topic
 * every test process uses by default (`sluice.schemas`), as `sluice dev` does. Test helpers encode
 * with the manifest's ids, so the import must give the examples exactly those ids; it does on an
 * empty topic, and this checks it (a registry that gave them other ids fails here, saying so).
 * Tests that change the registry use a topic of their own.
 */
export default async function importExampleSchemas(): Promise<void> {
  const reader = new EnvReader({ KAFKA_BROKERS: testKafkaBrokers.join(',') });
  const kafkaSettings = readKafkaSettings(reader, 'sluice-test-setup');
  const topics = readTopicSettings(reader);
  const logger = createLogger('test-setup', 'warn');
  const registry = new KafkaSchemaRegistry({
    kafka: createKafkaClient(kafkaSettings, logger),
    topic: topics.schemasTopic,
    createTopic: planTopics(topics, []).find((t) => t.name === topics.schemasTopic),
    logger,
  });
  await registry.start();
  try {
    const dir = findSchemasDir();
    await importSchemas(registry, readSchemaFolder(dir));
    const wrong = readManifest(dir).entries.filter(
      (entry) =>
        registry.state.subjectVersions(entry.type)?.find((v) => v.version === entry.version)?.id !== entry.id,
    );
    if (wrong.length > 0) {
      throw new Error(
        `the registry topic ${topics.schemasTopic} on ${testKafkaBrokers.join(',')} gives the example schemas other ids than schemas/manifest.json (${wrong
          .map((e) => `${e.type} v${e.version}`)
          .join(', ')}): it held other schemas before they were imported. Run the tests on a fresh stack.`,
      );
    }
  } finally {
    await registry.stop();
  }
}
