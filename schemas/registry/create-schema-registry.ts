import type { KafkaClient, TopicSpec } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import type { RegistryMetrics } from './registry-metrics.js';
import type { SchemaRegistrySettings } from './registry-settings.js';
import { KafkaSchemaRegistry, type SchemaRegistry } from './schema-registry.js';

export interface CreateSchemaRegistryOptions {
  kafka: KafkaClient;
  settings: SchemaRegistrySettings;
  /** The registry topic (`SLUICE_SCHEMAS_TOPIC`). */
  topic: string;
  /** Created from this spec when missing (the gateway); without it a missing topic fails start. */
  createTopic?: TopicSpec | undefined;
  metrics?: RegistryMetrics | undefined;
  logger: Logger;
  onFatalError?: ((error: unknown) => void) | undefined;
}

/** Sluice's own registry, or the Confluent-compatible one SLUICE_SCHEMA_REGISTRY_URL names. */
export function createSchemaRegistry(options: CreateSchemaRegistryOptions): SchemaRegistry {
  if (options.settings.url !== undefined) {
    throw new Error('SLUICE_SCHEMA_REGISTRY_URL: remote registries are not wired yet');
  }
  return new KafkaSchemaRegistry({
    kafka: options.kafka,
    topic: options.topic,
    createTopic: options.createTopic,
    metrics: options.metrics,
    logger: options.logger,
    onFatalError: options.onFatalError,
  });
}
