import {
  checkAgainstVersion,
  subjectNotFound,
  versionNotFound,
} from '../../schemas/registry/registry-decisions.js';
import { RegistryError } from '../../schemas/registry/registry-error.js';
import type { RegistryState, SubjectVersion } from '../../schemas/registry/registry-state.js';
import { isReservedSubject } from '../../schemas/avro-policy.js';
import { parseSchema } from '../../schemas/registry/schema-text.js';
import { isSluiceOwnedSchema } from '../../schemas/sluice-owned-types.js';
import type { Router } from '../http/router.js';
import {
  createRegistryHandler,
  type RegistryAccess,
  type RegistryAction,
  type RegistryRouteDeps,
} from './registry-handler.js';
import { respondRegistryError } from './registry-error-response.js';
import {
  docOf,
  levelOfBody,
  parseSchemaId,
  parseVersion,
  queryFlag,
  schemaNotFound,
  schemaOfBody,
} from './registry-request.js';

export type { RegistryRouteDeps } from './registry-handler.js';

/** Where Confluent's clients find the registry: `http://<gateway>/registry`. */
export const registryPrefix = '/registry';

/**
 * Confluent Schema Registry's REST API over Sluice's registry (README.md#confluent-clients-and-registry):
 * a subject is an event type, ids are the ids in every record's wire header. Reads take any API
 * key, writes an admin key; Basic (`basic.auth.user.info` = `<anything>:<API key>`) or Bearer.
 * Deletes are soft (the type is deprecated, its ids stay resolvable); a permanent delete is refused.
 * Registration does nothing itself: the registry decides (registry-decisions.ts) and stores.
 */
export function addRegistryRoutes(router: Router, deps: RegistryRouteDeps): Router {
  const { registry } = deps;
  const state = (): RegistryState => registry.state;
  const add = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    access: RegistryAccess,
    action: RegistryAction,
  ) => {
    const pattern = `${registryPrefix}${path}`;
    const readsBody = method === 'POST' || method === 'PUT';
    router.route(method, pattern, createRegistryHandler(deps, pattern, access, readsBody, action));
  };
  router.errorFormat(registryPrefix, respondRegistryError);

  // ---- schemas by id: what deserializers ask (and cache forever)
  add('GET', '/schemas/types', 'read', () => ({ body: ['AVRO'] }));
  add('GET', '/schemas/ids/:id', 'read', ({ exchange }) => ({
    body: { schema: idEntry(state(), exchange.params.id).schema },
  }));
  add('GET', '/schemas/ids/:id/schema', 'read', ({ exchange }) => ({
    body: JSON.parse(idEntry(state(), exchange.params.id).schema) as unknown,
  }));
  add('GET', '/schemas/ids/:id/versions', 'read', ({ exchange, query }) => ({
    body: idVersions(state(), exchange.params.id, queryFlag(query, 'deleted')),
  }));
  add('GET', '/schemas/ids/:id/subjects', 'read', ({ exchange, query }) => ({
    body: [
      ...new Set(idVersions(state(), exchange.params.id, queryFlag(query, 'deleted')).map((v) => v.subject)),
    ],
  }));

  // ---- subjects (event types) and their versions
  add('GET', '/subjects', 'read', ({ query }) => {
    const prefix = query.get('subjectPrefix') ?? '';
    const deletedOnly = queryFlag(query, 'deletedOnly') || queryFlag(query, 'deleted_only');
    const subjects = state()
      .subjects({ deleted: deletedOnly || queryFlag(query, 'deleted') })
      .filter((subject) => subject.startsWith(prefix))
      .filter((subject) => !deletedOnly || state().isSubjectDeleted(subject));
    return { body: subjects };
  });
  add('GET', '/subjects/:subject/versions', 'read', ({ exchange, query }) => ({
    body: versionsOf(state(), subjectParam(exchange.params), queryFlag(query, 'deleted')).map(
      (v) => v.version,
    ),
  }));
  add('GET', '/subjects/:subject/versions/:version', 'read', ({ exchange, query }) => ({
    body: versionBody(findVersion(state(), exchange.params, queryFlag(query, 'deleted'))),
  }));
  add('GET', '/subjects/:subject/versions/:version/schema', 'read', ({ exchange, query }) => ({
    body: JSON.parse(findVersion(state(), exchange.params, queryFlag(query, 'deleted')).schema) as unknown,
  }));
  add('POST', '/subjects/:subject/versions', 'write', async ({ exchange, body }) => {
    try {
      const schema = schemaOfBody(body);
      const subject = subjectParam(exchange.params);
      // A reserved subject only with Sluice's own schema: another Sluice that uses this registry
      // (SLUICE_SCHEMA_REGISTRY_URL) registers its inbound type through here.
      const internal = isSluiceOwnedSchema(subject, schema);
      const { id } = await registry.register({ subject, schema, description: docOf(schema), internal });
      return { body: { id } };
    } catch (error) {
      if (error instanceof RegistryError && error.status < 500) {
        deps.metrics?.registrations.inc({ outcome: 'refused' });
      }
      throw error;
    }
  });
  add('POST', '/subjects/:subject', 'read', ({ exchange, query, body }) => {
    const subject = subjectParam(exchange.params);
    const { canonical } = parseSchema(schemaOfBody(body), { allowBytes: isReservedSubject(subject) });
    const found = versionsOf(state(), subject, queryFlag(query, 'deleted')).find(
      (v) => v.schema === canonical,
    );
    if (found === undefined) throw new RegistryError('SCHEMA_NOT_FOUND', 'Schema not found');
    return { body: versionBody(found) };
  });
  add('DELETE', '/subjects/:subject', 'write', async ({ exchange, query }) => {
    refusePermanent(query);
    return { body: await registry.delete(subjectParam(exchange.params)) };
  });
  add('DELETE', '/subjects/:subject/versions/:version', 'write', async ({ exchange, query }) => {
    refusePermanent(query);
    const version = parseVersion(exchange.params.version ?? '');
    const [deleted] = await registry.delete(subjectParam(exchange.params), version);
    return { body: deleted };
  });

  // ---- compatibility tests: nothing is written
  const compatibility: RegistryAction = ({ exchange, query, body }) => {
    const subject = subjectParam(exchange.params);
    const text = exchange.params.version;
    const version = text === undefined ? 'all' : parseVersion(text);
    const schema = parseSchema(schemaOfBody(body), { allowBytes: isReservedSubject(subject) });
    // Against every version of a subject that has none: compatible, as Confluent answers.
    if (version === 'all' && versionsOf(state(), subject, false, true).length === 0) {
      return { body: compatibilityBody(true, [], query) };
    }
    const result = checkAgainstVersion(state(), subject, version, schema);
    return { body: compatibilityBody(result.compatible, result.messages, query) };
  };
  add('POST', '/compatibility/subjects/:subject/versions/:version', 'read', compatibility);
  add('POST', '/compatibility/subjects/:subject/versions', 'read', compatibility);

  // ---- compatibility levels: GET answers `compatibilityLevel`, PUT takes and echoes `compatibility`
  add('GET', '/config', 'read', () => ({ body: { compatibilityLevel: state().globalLevel() } }));
  add('PUT', '/config', 'write', async ({ body }) => {
    const level = levelOfBody(body);
    await registry.setCompatibility(undefined, level);
    return { body: { compatibility: level } };
  });
  add('GET', '/config/:subject', 'read', ({ exchange, query }) => {
    const subject = subjectParam(exchange.params);
    const own = state().subjectCompatibility(subject);
    if (own === undefined && !queryFlag(query, 'defaultToGlobal')) throw configNotFound(subject);
    return { body: { compatibilityLevel: own ?? state().globalLevel() } };
  });
  add('PUT', '/config/:subject', 'write', async ({ exchange, body }) => {
    const level = levelOfBody(body);
    await registry.setCompatibility(subjectParam(exchange.params), level);
    return { body: { compatibility: level } };
  });
  add('DELETE', '/config/:subject', 'write', async ({ exchange }) => {
    const subject = subjectParam(exchange.params);
    const own = state().subjectCompatibility(subject);
    if (own === undefined) throw configNotFound(subject);
    await registry.setCompatibility(subject, undefined);
    return { body: { compatibilityLevel: own } };
  });
  return router;
}

function subjectParam(params: Readonly<Record<string, string>>): string {
  return params.subject ?? '';
}

function idEntry(state: RegistryState, text: string | undefined) {
  const id = parseSchemaId(text ?? '');
  const entry = state.schemaById(id);
  if (entry === undefined) throw schemaNotFound(id);
  return entry;
}

/** The subject-version pairs of an id; soft-deleted ones only when asked for. */
function idVersions(
  state: RegistryState,
  text: string | undefined,
  deleted: boolean,
): Array<{ subject: string; version: number }> {
  return idEntry(state, text).subjectVersions.filter(
    ({ subject, version }) =>
      deleted || state.subjectVersions(subject)?.some((v) => v.version === version && !v.deleted) === true,
  );
}

/** The versions of a subject (soft-deleted ones when `deleted`); 40401 when it has none to show. */
function versionsOf(
  state: RegistryState,
  subject: string,
  deleted: boolean,
  emptyIfNone = false,
): SubjectVersion[] {
  const versions = state.subjectVersions(subject, { deleted });
  if (versions !== undefined && versions.length > 0) return versions;
  if (emptyIfNone) return [];
  throw subjectNotFound(subject);
}

function findVersion(
  state: RegistryState,
  params: Readonly<Record<string, string>>,
  deleted: boolean,
): SubjectVersion {
  const subject = subjectParam(params);
  const version = parseVersion(params.version ?? '');
  const versions = versionsOf(state, subject, deleted);
  const found =
    version === 'latest'
      ? (versions.filter((v) => !v.deleted).at(-1) ?? versions.at(-1))
      : versions.find((v) => v.version === version);
  if (found === undefined) throw versionNotFound(subject, version);
  return found;
}

/** A version as Confluent shows it; `schemaType` is left out for Avro, as Confluent does. */
function versionBody(version: SubjectVersion) {
  return { subject: version.subject, version: version.version, id: version.id, schema: version.schema };
}

function compatibilityBody(compatible: boolean, messages: string[], query: URLSearchParams) {
  return queryFlag(query, 'verbose')
    ? { is_compatible: compatible, messages }
    : { is_compatible: compatible };
}

function refusePermanent(query: URLSearchParams): void {
  if (queryFlag(query, 'permanent')) {
    throw new RegistryError(
      'OPERATION_NOT_PERMITTED',
      'Permanent deletion is not supported: Sluice keeps every schema so that the ids in Kafka records stay readable. A soft delete (without permanent=true) deprecates the event type.',
    );
  }
}

function configNotFound(subject: string): RegistryError {
  return new RegistryError(
    'SUBJECT_CONFIG_NOT_FOUND',
    `Subject '${subject}' does not have subject-level compatibility configured`,
  );
}
