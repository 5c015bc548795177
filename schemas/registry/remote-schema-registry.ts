import { Agent, request } from 'undici';
import type { Logger } from '../../common/logger.js';
import type { RegisteredSchema } from '../schema-catalog.js';
import type { CompatibilityLevel } from './compatibility-level.js';
import { checkSubject } from './registry-decisions.js';
import { RegistryError, registryErrorCatalog, type RegistryErrorKind } from './registry-error.js';
import type { RegistryMetrics } from './registry-metrics.js';
import type { SchemaRegistrySettings } from './registry-settings.js';
import { RegistryState } from './registry-state.js';
import { parseSchema } from './schema-text.js';
import {
  reservedSubjectPolicy,
  type Registration,
  type RegistrationRequest,
  type SchemaRegistry,
} from './schema-registry.js';

export interface RemoteSchemaRegistryOptions {
  settings: SchemaRegistrySettings & { url: string };
  logger: Logger;
  metrics?: RegistryMetrics | undefined;
}

interface SubjectVersionAnswer {
  subject: string;
  version: number;
  id: number;
  schema: string;
  schemaType?: string;
}

const contentType = 'application/vnd.schemaregistry.v1+json';
/** Subjects whose versions are fetched at once during a poll. */
const pollConcurrency = 8;

/**
 * Another Confluent-compatible registry (SLUICE_SCHEMA_REGISTRY_URL) as Sluice's registry: its
 * subjects that are event types, their versions and ids, mirrored into a RegistryState by polling
 * (every SLUICE_SCHEMA_REGISTRY_POLL_INTERVAL_MS) and on demand for an id a record names. Writes go
 * to it through its REST API; it decides ids, versions and compatibility.
 */
export class RemoteSchemaRegistry implements SchemaRegistry {
  readonly state = new RegistryState();
  private readonly settings: SchemaRegistrySettings & { url: string };
  private readonly logger: Logger;
  private readonly metrics: RegistryMetrics | undefined;
  private readonly agent: Agent;
  private readonly authorization: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private caughtUp = false;
  private polling: Promise<void> | undefined;

  constructor(options: RemoteSchemaRegistryOptions) {
    this.settings = options.settings;
    this.metrics = options.metrics;
    this.logger = options.logger.child({ component: 'schema-registry', registry: options.settings.url });
    this.agent = new Agent({ connections: 8, headersTimeout: options.settings.requestTimeoutMs });
    const { basicAuthUserInfo, bearerToken } = options.settings;
    this.authorization =
      basicAuthUserInfo !== undefined
        ? `Basic ${Buffer.from(basicAuthUserInfo).toString('base64')}`
        : bearerToken !== undefined
          ? `Bearer ${bearerToken}`
          : undefined;
  }

  async start(): Promise<void> {
    await this.poll();
    this.caughtUp = true;
    // Polls that fail later keep what is known: the process stays caught up (it never reads less).
    this.metrics?.caughtUp.set(1);
    this.logger.info({ subjects: this.state.subjects().length }, 'schema registry loaded');
    this.timer = setInterval(() => {
      this.poll().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'could not read the schema registry; keeping what is known'),
      );
    }, this.settings.pollIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling?.catch(() => undefined);
    await this.agent.close();
  }

  isCaughtUp(): boolean {
    return this.caughtUp;
  }

  async register(input: RegistrationRequest): Promise<Registration> {
    checkSubject(input.subject);
    const schema = parseSchema(input.schema, reservedSubjectPolicy(input));
    const existing = this.state.subjectVersions(input.subject)?.find((v) => v.schema === schema.canonical);
    if (existing !== undefined) {
      this.metrics?.registrations.inc({ outcome: 'existing' });
      return { id: existing.id, version: existing.version, created: false };
    }
    const path = `/subjects/${encodeURIComponent(input.subject)}`;
    // Look up first: the remote answers an already registered schema with its version.
    const found = await this.call<SubjectVersionAnswer>('POST', path, { schema: schema.canonical }).catch(
      (error: unknown) => {
        if (error instanceof RegistryError && error.status === 404) return undefined;
        throw error;
      },
    );
    if (found !== undefined) {
      this.apply(found);
      this.metrics?.registrations.inc({ outcome: 'existing' });
      return { id: found.id, version: found.version, created: false };
    }
    const { id } = await this.call<{ id: number }>('POST', `${path}/versions`, { schema: schema.canonical });
    const registered = await this.call<SubjectVersionAnswer>('POST', path, { schema: schema.canonical });
    this.apply({ ...registered, id });
    this.metrics?.registrations.inc({ outcome: 'created' });
    this.logger.info({ subject: input.subject, id, version: registered.version }, 'schema registered');
    return { id, version: registered.version, created: true };
  }

  async setCompatibility(subject: string | undefined, level: CompatibilityLevel | undefined): Promise<void> {
    const path = subject === undefined ? '/config' : `/config/${encodeURIComponent(subject)}`;
    if (level === undefined) await this.call('DELETE', path);
    else await this.call('PUT', path, { compatibility: level });
    this.state.mirror({ kind: 'config', subject, compatibility: level });
  }

  async delete(subject: string, version?: number | 'latest'): Promise<number[]> {
    const path = `/subjects/${encodeURIComponent(subject)}`;
    const deleted =
      version === undefined
        ? await this.call<number[]>('DELETE', path)
        : [await this.call<number>('DELETE', `${path}/versions/${version}`)];
    const at = new Date().toISOString();
    if (version === undefined) this.state.mirror({ kind: 'delete', subject, at });
    else for (const v of deleted) this.state.mirror({ kind: 'delete', subject, version: v, at });
    return deleted;
  }

  async resolveId(id: number): Promise<RegisteredSchema | undefined> {
    const held = this.state.byId(id);
    if (held !== undefined) return held;
    const [schema, versions] = await Promise.all([
      this.call<{ schema: string; schemaType?: string }>('GET', `/schemas/ids/${id}`),
      this.call<Array<{ subject: string; version: number }>>('GET', `/schemas/ids/${id}/versions`),
    ]).catch((error: unknown) => {
      if (error instanceof RegistryError && error.status === 404) return [undefined, []] as const;
      throw error;
    });
    if (schema !== undefined) {
      for (const { subject, version } of versions)
        this.apply({ subject, version, id, schema: schema.schema });
    }
    const resolved = this.state.byId(id);
    this.metrics?.idLookups.inc({ result: resolved === undefined ? 'unknown' : 'found' });
    return resolved;
  }

  // ---- internals ----

  private poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const subjects = (await this.call<string[]>('GET', '/subjects')).filter(isEventType);
    const queue = [...subjects];
    await Promise.all(
      Array.from({ length: pollConcurrency }, async () => {
        for (let subject = queue.shift(); subject !== undefined; subject = queue.shift()) {
          await this.pollSubject(subject);
        }
      }),
    );
    const live = new Set(subjects);
    const at = new Date().toISOString();
    for (const subject of this.state.subjects()) {
      if (!live.has(subject)) this.state.mirror({ kind: 'delete', subject, at });
    }
    this.metrics?.subjects.set(this.state.subjects({ deleted: true }).length);
    this.metrics?.schemas.set(this.state.all().length);
  }

  private async pollSubject(subject: string): Promise<void> {
    const base = `/subjects/${encodeURIComponent(subject)}/versions`;
    const versions = await this.call<number[]>('GET', base);
    const known = new Set(
      this.state.subjectVersions(subject, { deleted: true })?.map((v) => v.version) ?? [],
    );
    for (const version of versions.filter((v) => !known.has(v))) {
      this.apply(await this.call<SubjectVersionAnswer>('GET', `${base}/${version}`));
    }
  }

  private apply(answer: SubjectVersionAnswer): void {
    if ((answer.schemaType ?? 'AVRO') !== 'AVRO' || !isEventType(answer.subject)) return;
    let canonical: string;
    try {
      canonical = parseSchema(answer.schema).canonical;
    } catch (error) {
      this.logger.warn(
        { subject: answer.subject, version: answer.version, err: error },
        'a schema of the remote registry breaks Sluice’s Avro policy; its type cannot be used',
      );
      return;
    }
    this.state.mirror({
      kind: 'register',
      subject: answer.subject,
      version: answer.version,
      id: answer.id,
      schema: canonical,
      at: new Date().toISOString(),
    });
  }

  private async call<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> {
    let response;
    try {
      response = await request(`${this.settings.url}${path}`, {
        method,
        dispatcher: this.agent,
        headersTimeout: this.settings.requestTimeoutMs,
        bodyTimeout: this.settings.requestTimeoutMs,
        headers: {
          accept: `${contentType}, application/json`,
          ...(body === undefined ? {} : { 'content-type': contentType }),
          ...(this.authorization === undefined ? {} : { authorization: this.authorization }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw new RegistryError('STORE_ERROR', `the schema registry at ${this.settings.url} did not answer`, {
        cause,
      });
    }
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return parsed as T;
    const { error_code: errorCode, message } = (parsed ?? {}) as { error_code?: number; message?: string };
    throw new RegistryError(
      kindOf(errorCode, response.statusCode),
      message ?? `the schema registry answered ${response.statusCode} to ${method} ${path}`,
    );
  }
}

function isEventType(subject: string): boolean {
  try {
    checkSubject(subject);
    return true;
  } catch {
    return false;
  }
}

/** The registry error a remote answer means: by its error code, else by its HTTP status. */
function kindOf(errorCode: number | undefined, status: number): RegistryErrorKind {
  const entries = Object.entries(registryErrorCatalog) as Array<
    [RegistryErrorKind, { status: number; errorCode: number }]
  >;
  return (
    entries.find(([, row]) => row.errorCode === errorCode)?.[0] ??
    entries.find(([, row]) => row.status === status)?.[0] ??
    'STORE_ERROR'
  );
}
