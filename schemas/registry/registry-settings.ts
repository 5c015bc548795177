import type { EnvReader } from '../../common/config.js';

/** Where event types and schema ids come from: Sluice's own registry topic, or another registry. */
export interface SchemaRegistrySettings {
  /**
   * `SLUICE_SCHEMA_REGISTRY_URL`, default none (Sluice's own registry in the `SLUICE_SCHEMAS_TOPIC`
   * topic). When set, a Confluent-compatible registry (Confluent, Apicurio's ccompat API, Karapace,
   * Redpanda, or another Sluice's `/registry`) holds ids and schemas instead.
   */
  url: string | undefined;
  /** `SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`: `user:password` for HTTP Basic, as Confluent clients take it. */
  basicAuthUserInfo: string | undefined;
  /** `SLUICE_SCHEMA_REGISTRY_BEARER_TOKEN`: sent as `Authorization: Bearer`. */
  bearerToken: string | undefined;
  /** `SLUICE_SCHEMA_REGISTRY_POLL_INTERVAL_MS`, default 2 s: how often new types and versions are fetched from it. */
  pollIntervalMs: number;
  /** `SLUICE_SCHEMA_REGISTRY_TIMEOUT_MS`, default 5 s: one request to it. */
  requestTimeoutMs: number;
}

export function readSchemaRegistrySettings(reader: EnvReader): SchemaRegistrySettings {
  const url = reader.optionalString('SLUICE_SCHEMA_REGISTRY_URL');
  if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url)) {
    reader.problem(`SLUICE_SCHEMA_REGISTRY_URL must be an http(s) URL, got ${url}`);
  }
  const basicAuthUserInfo = reader.optionalString('SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO');
  if (basicAuthUserInfo !== undefined && !basicAuthUserInfo.includes(':')) {
    reader.problem('SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO must be user:password');
  }
  const bearerToken = reader.optionalString('SLUICE_SCHEMA_REGISTRY_BEARER_TOKEN');
  if (basicAuthUserInfo !== undefined && bearerToken !== undefined) {
    reader.problem(
      'set SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO or SLUICE_SCHEMA_REGISTRY_BEARER_TOKEN, not both',
    );
  }
  return {
    url: url?.replace(/\/+$/, ''),
    basicAuthUserInfo,
    bearerToken,
    pollIntervalMs: reader.durationMs('SLUICE_SCHEMA_REGISTRY_POLL_INTERVAL_MS', 2000, { min: 100 }),
    requestTimeoutMs: reader.durationMs('SLUICE_SCHEMA_REGISTRY_TIMEOUT_MS', 5000, { min: 100 }),
  };
}
