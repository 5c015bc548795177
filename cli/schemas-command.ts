import { EnvReader, type Env } from '../common/config.js';
import {
  createKafkaClient,
  planTopics,
  readKafkaSettings,
  readTopicSettings,
} from '../common/kafka/index.js';
import type { Logger } from '../common/logger.js';
import { findSchemasDir } from '../schemas/manifest.js';
import { createSchemaRegistry } from '../schemas/registry/create-schema-registry.js';
import { importSchemas, readSchemaFolder, type ImportReport } from '../schemas/registry/import-schemas.js';
import { readSchemaRegistrySettings } from '../schemas/registry/registry-settings.js';

export const schemasImportUsage = `usage: sluice schemas import [<dir>]

Registers every .avsc file of <dir> (default: the example catalog, schemas/) in the schema
registry: Sluice's own (the SLUICE_SCHEMAS_TOPIC topic on KAFKA_BROKERS), or the one
SLUICE_SCHEMA_REGISTRY_URL names. Safe to repeat: a schema already registered keeps its id.
Layouts: <type>.avsc, <type>/v<N>.avsc, or Sluice's schemas/ (manifest.json gives the order).`;

/** `sluice schemas import [dir]`: registers a folder of schemas; returns what it registered. */
export async function schemasImport(args: string[], env: Env, logger: Logger): Promise<ImportReport> {
  const reader = new EnvReader(env);
  const kafka = readKafkaSettings(reader, 'sluice-schemas');
  const topics = readTopicSettings(reader);
  const settings = readSchemaRegistrySettings(reader);
  reader.finish({});
  const dir = args[0] ?? findSchemasDir();
  const files = readSchemaFolder(dir);
  const registry = createSchemaRegistry({
    kafka: createKafkaClient(kafka, logger),
    settings,
    topic: topics.schemasTopic,
    createTopic: planTopics(topics, []).find((t) => t.name === topics.schemasTopic),
    logger,
  });
  await registry.start();
  try {
    const report = await importSchemas(registry, files);
    for (const row of report.created) logger.info(row, 'registered');
    logger.info(
      { dir, created: report.created.length, alreadyRegistered: report.existing.length },
      'schemas imported',
    );
    return report;
  } finally {
    await registry.stop();
  }
}
