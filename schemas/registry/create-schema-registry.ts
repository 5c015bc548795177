import type { KafkaClient, TopicSpec } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import type { RegistryMetrics } from './registry-metrics.js';
import type { SchemaRegistrySettings } from './registry-settings.js';
import { RemoteSchemaRegistry } from './remote-schema-registry.js';
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
  const { url } = options.settings;
  if (url !== undefined) {
    return new RemoteSchemaRegistry({
      settings: { ...options.settings, url },
      logger: options.logger,
      metrics: options.metrics,
    });
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
