import type { JsonSchema } from '../../schemas/avro-to-json-schema.js';
import type { CompatibilityLevel } from '../../schemas/registry/compatibility-level.js';
import type { RegistryState, SubjectVersion } from '../../schemas/registry/registry-state.js';

/** What the event type routes read of the registry. */
export type EventTypeRegistryView = Pick<
  RegistryState,
  'subjects' | 'subjectVersions' | 'isSubjectDeleted' | 'subjectDeletedAt' | 'effectiveCompatibility' | 'all'
>;

/** One version of an event type as `GET /v1/event-types/{type}` shows it. */
export interface EventTypeVersionResource {
  version: number;
  /** The id in the Confluent wire header of records written with this version. */
  schemaId: number;
  registeredAt: string;
  /** Deprecated with the type (or deleted alone through `/registry`): its records still decode. */
  deleted: boolean;
}

/** `GET /v1/event-types/{type}`. */
export interface EventTypeResource {
  type: string;
  /** The newest description given at registration (the schema's `doc` when none was given). */
  description: string | null;
  /** Valid `data` of the shown version, as registered with it. */
  example: unknown;
  /** The level the next version is checked at: the type's own, else the global one. */
  compatibility: CompatibilityLevel;
  deprecated: boolean;
  deprecatedAt: string | null;
  /** The version new events are written with; for a deprecated type, the last one there was. */
  version: number;
  schemaId: number;
  avroSchema: unknown;
  jsonSchema: JsonSchema | null;
  versions: EventTypeVersionResource[];
}

/** One entry of `GET /v1/event-types`. */
export interface EventTypeSummary {
  type: string;
  description: string | null;
  deprecated: boolean;
  deprecatedAt: string | null;
  version: number;
  schemaId: number;
  versions: Array<{ version: number; schemaId: number }>;
  avroSchema: unknown;
  jsonSchema: JsonSchema;
}

/** The event type with every version; undefined when nothing was ever registered under it. */
export function eventTypeResource(
  registry: EventTypeRegistryView,
  type: string,
): EventTypeResource | undefined {
  const all = registry.subjectVersions(type, { deleted: true });
  const shown = all === undefined ? undefined : shownVersion(all);
  if (all === undefined || shown === undefined) return undefined;
  const deprecated = registry.isSubjectDeleted(type);
  return {
    type,
    description: newestDescription(all),
    example: shown.example ?? null,
    compatibility: registry.effectiveCompatibility(type),
    deprecated,
    deprecatedAt: deprecated ? (registry.subjectDeletedAt(type) ?? null) : null,
    version: shown.version,
    schemaId: shown.id,
    avroSchema: shown.registered?.avroSchema ?? (JSON.parse(shown.schema) as unknown),
    jsonSchema: shown.registered?.jsonSchema ?? null,
    versions: all.map((v) => ({
      version: v.version,
      schemaId: v.id,
      registeredAt: v.registeredAt,
      deleted: v.deleted,
    })),
  };
}

/**
 * Every event type, deprecated ones included (their records still decode): for a live type its
 * live versions, for a deprecated one every version it had.
 */
export function eventTypeSummaries(registry: EventTypeRegistryView): EventTypeSummary[] {
  return registry.subjects({ deleted: true }).flatMap((type) => {
    const all = registry.subjectVersions(type, { deleted: true }) ?? [];
    const shown = shownVersion(all);
    if (shown?.registered === undefined) return [];
    const deprecated = registry.isSubjectDeleted(type);
    const listed = deprecated ? all : all.filter((v) => !v.deleted);
    return [
      {
        type,
        description: newestDescription(all),
        deprecated,
        deprecatedAt: deprecated ? (registry.subjectDeletedAt(type) ?? null) : null,
        version: shown.version,
        schemaId: shown.id,
        versions: listed.map((v) => ({ version: v.version, schemaId: v.id })),
        avroSchema: shown.registered.avroSchema,
        jsonSchema: shown.registered.jsonSchema,
      },
    ];
  });
}

/** The newest live version, or for a deprecated type the newest of all. */
function shownVersion(versions: readonly SubjectVersion[]): SubjectVersion | undefined {
  return versions.findLast((v) => !v.deleted) ?? versions.at(-1);
}

function newestDescription(versions: readonly SubjectVersion[]): string | null {
  return versions.findLast((v) => v.description !== undefined)?.description ?? null;
}
