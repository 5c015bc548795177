import { EnvReader, type Env } from '../common/config.js';
import { SluiceError } from '../common/errors.js';
import {
  createKafkaClient,
  planTopics,
  readKafkaSettings,
  readTopicSettings,
} from '../common/kafka/index.js';
import type { Logger } from '../common/logger.js';
import { findSchemasDir } from '../schemas/manifest.js';
import { createSchemaRegistry } from '../schemas/registry/create-schema-registry.js';
import {
  importSchemas,
  readSchemaFolder,
  type ImportReport,
  type SchemaFile,
} from '../schemas/registry/import-schemas.js';
import { readSchemaRegistrySettings } from '../schemas/registry/registry-settings.js';

export const schemasImportUsage = `usage: sluice schemas import [--examples] [<dir>…]

Registers every .avsc file of each <dir> (default: the example catalog, schemas/) in the schema
registry: Sluice's own (the SLUICE_SCHEMAS_TOPIC topic on KAFKA_BROKERS), or the one
SLUICE_SCHEMA_REGISTRY_URL names. Safe to repeat: a schema already registered keeps its id.
  --examples   the example catalog too, before the folders named
Layouts: <type>.avsc, <type>__v<N>.avsc (flat, e.g. the keys of a ConfigMap), <type>/v<N>.avsc,
or Sluice's schemas/ (manifest.json gives the order). N orders a type's files; the registry
numbers the versions it creates.`;

/** What `sluice schemas import` reads from its environment, every problem at once. */
export function loadSchemasImportConfig(env: Env) {
  const reader = new EnvReader(env);
  const kafka = readKafkaSettings(reader, 'sluice-schemas');
  const topics = readTopicSettings(reader);
  const schemaRegistry = readSchemaRegistrySettings(reader);
  return reader.finish({ kafka, topics, schemaRegistry });
}

/**
 * The folders `sluice schemas import` reads, in order: the example catalog first when asked for
 * (or when no folder is named), so a folder's versions of an example type come after it.
 */
export function schemasImportFolders(args: readonly string[]): string[] {
  const unknown = args.filter((arg) => arg.startsWith('-') && arg !== '--examples');
  if (unknown.length > 0) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `unknown option ${unknown.join(', ')}\n${schemasImportUsage}`,
    );
  }
  const dirs = args.filter((arg) => !arg.startsWith('-'));
  return dirs.length === 0 || args.includes('--examples') ? [findSchemasDir(), ...dirs] : dirs;
}

/**
 * Every schema file of the folders, in registration order. A folder that cannot be read (a name
 * that gives no event type, two files for one version) fails before anything is registered.
 */
export function readSchemaFolders(dirs: readonly string[]): SchemaFile[] {
  try {
    return dirs.flatMap((dir) =>
      readSchemaFolder(dir).map((file) => ({ ...file, file: `${dir.replace(/\/+$/, '')}/${file.file}` })),
    );
  } catch (error) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', (error as Error).message, { cause: error });
  }
}

/** `sluice schemas import [--examples] [dir…]`: registers folders of schemas; returns what it registered. */
export async function schemasImport(args: string[], env: Env, logger: Logger): Promise<ImportReport> {
  const config = loadSchemasImportConfig(env);
  const dirs = schemasImportFolders(args);
  const files = readSchemaFolders(dirs);
  const registry = createSchemaRegistry({
    kafka: createKafkaClient(config.kafka, logger),
    settings: config.schemaRegistry,
    topic: config.topics.schemasTopic,
    createTopic: planTopics(config.topics, []).find((t) => t.name === config.topics.schemasTopic),
    logger,
  });
  await registry.start();
  try {
    const report = await importSchemas(registry, files);
    for (const row of report.created) logger.info(row, 'registered');
    logger.info(
      { dirs, created: report.created.length, alreadyRegistered: report.existing.length },
      'schemas imported',
    );
    return report;
  } finally {
    await registry.stop();
  }
}
