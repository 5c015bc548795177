import { isTenantId } from '../tenant-id.js';
import { isSendableHeader, type CustomHeader } from './custom-headers.js';
import type { RetryOverride } from './delivery-overrides.js';
import { parsePayloadFilter, type PayloadFilter } from './payload-filter.js';
import type { DecryptFailure, EncryptedValue, SecretsKeyring } from './secrets-keyring.js';
import { disabledReasons, type DisabledReason, type Subscription } from './subscription.js';

/**
 * The Kafka record format of a subscription in the compacted topic `sluice.subscriptions`:
 *
 * - key: the subscription id (UTF-8);
 * - value: UTF-8 JSON (below), or null (a tombstone) when the subscription was deleted;
 * - header `content-type: application/vnd.sluice.subscription.v<v>+json` (informative only).
 *
 *     {"v":1,"id":"sub_…","url":"https://…","eventTypes":["order.*"],"description":"",
 *      "enabled":true,"disabledReason":null,"disabledAt":null,"failingSince":null,
 *      "secrets":[{"keyId":"k2","iv":"<b64>","ciphertext":"<b64>","tag":"<b64>","expiresAtMs":null}],
 *      "rateLimitPerSecond":null,"maxConcurrency":16,"ordering":"none","producerIds":null,
 *      "createdAt":"…","updatedAt":"…"}
 *
 * plus, only when set (optional within v1: records written before they existed have none):
 *
 *      "filter":{"data.totalMinor":{"$gt":500}},
 *      "headers":[{"name":"x-api-key","value":"…"},{"name":"authorization","secret":{"keyId":"k2",…}}],
 *      "retry":{"delaysMs":[5000,120000],"maxAttempts":3},"timeoutMs":5000
 *
 * Each signing secret is encrypted on its own with AES-256-GCM under the keyring's primary key, a
 * fresh random 96-bit IV each time the record is written, the subscription id as associated data
 * (so a ciphertext moved to another subscription's record fails to decrypt) and the key id beside
 * it (so keys rotate: a record written under `k1` stays readable once `k2` is primary). A secret
 * header's value is encrypted the same way, with the subscription id and the header name as
 * associated data. Nothing else in the record is secret.
 *
 * A subscription that belongs to a tenant is written as `"v":2` with `"tenant":"acme"` beside the
 * fields above. A process from before tenants reads only version 1, so it finds that record
 * unreadable and drops the subscription from its view, rather than deliver every tenant's events
 * to it during a rolling upgrade. Global subscriptions stay version 1, readable by every version.
 *
 * `filter`, `headers`, `retry` and `timeoutMs` are optional in both versions, written only when
 * set. A worker older than them ignores them: during a rolling upgrade it delivers unfiltered,
 * without the headers (a receiver that needs them refuses, and the retry, made by a new worker,
 * sends them), on the global schedule. Unlike a tenant, none of them is an isolation boundary, and
 * dropping the subscription would lose its events instead: so no version bump. Upgrade the workers
 * before the gateways.
 *
 * `disabledAt` and `failingSince` came later, in both versions: a record without them reads as
 * null, so records written before stay readable. A process older than them ignores them, but finds
 * `disabledReason: "failing"` unreadable and drops that subscription from its view: it is disabled,
 * so that process would deliver nothing to it either way.
 */
export const subscriptionRecordVersion = 1;
/** The version of a record that holds a tenant. */
export const tenantSubscriptionRecordVersion = 2;
const readableVersions: readonly unknown[] = [subscriptionRecordVersion, tenantSubscriptionRecordVersion];
/** The informative content type of a record of version `v`. */
export function subscriptionRecordContentType(v: number): string {
  return `application/vnd.sluice.subscription.v${v}+json`;
}

interface StoredSecret extends EncryptedValue {
  readonly expiresAtMs: number | null;
}

type StoredHeader = { name: string; value: string } | { name: string; secret: EncryptedValue };

interface StoredRetry {
  delaysMs: number[] | null;
  maxAttempts: number | null;
}

interface SubscriptionRecord {
  v: 1 | 2;
  id: string;
  url: string;
  eventTypes: string[];
  description: string;
  enabled: boolean;
  disabledReason: DisabledReason | null;
  /** Absent in records written before the field existed. */
  disabledAt?: string | null;
  failingSince?: string | null;
  secrets: StoredSecret[];
  rateLimitPerSecond: number | null;
  maxConcurrency: number;
  ordering: 'none' | 'key';
  producerIds: string[] | null;
  /** Version 2 only. */
  tenant?: string;
  filter?: PayloadFilter;
  headers?: StoredHeader[];
  retry?: StoredRetry;
  timeoutMs?: number;
  createdAt: string;
  updatedAt: string;
}

export interface EncodedSubscriptionRecord {
  key: string;
  /** Null: a tombstone, which deletes the subscription (and lets compaction drop its history). */
  value: Buffer | null;
  headers: Record<string, string>;
}

export type DecodedSubscriptionRecord =
  | { kind: 'upsert'; subscription: Subscription }
  | { kind: 'delete'; id: string }
  | {
      kind: 'invalid';
      /** The record key, when it had one. */
      id: string | undefined;
      reason: 'no-key' | 'malformed' | 'unsupported-version' | DecryptFailure;
      /** Safe to log: never quotes the record's value. */
      message: string;
    };

/** Associated data of a secret's ciphertext: binds it to one subscription. */
function secretContext(subscriptionId: string): string {
  return `sluice.subscription.secret.v1/${subscriptionId}`;
}

/** Associated data of a secret header's ciphertext: binds it to one subscription and one name. */
function headerContext(subscriptionId: string, name: string): string {
  return `sluice.subscription.header.v1/${subscriptionId}/${name}`;
}

/** The record that stores `subscription`, its secrets encrypted under the keyring's primary key. */
export function encodeSubscription(
  subscription: Subscription,
  keyring: SecretsKeyring,
): EncodedSubscriptionRecord & { value: Buffer } {
  const context = secretContext(subscription.id);
  const record: SubscriptionRecord = {
    v: subscription.tenant === undefined ? subscriptionRecordVersion : tenantSubscriptionRecordVersion,
    id: subscription.id,
    url: subscription.url,
    eventTypes: [...subscription.eventTypes],
    description: subscription.description,
    enabled: subscription.enabled,
    disabledReason: subscription.disabledReason ?? null,
    disabledAt: subscription.disabledAt ?? null,
    failingSince: subscription.failingSince ?? null,
    secrets: subscription.secrets.map(({ secret, expiresAtMs }) => ({
      ...keyring.encrypt(secret, context),
      expiresAtMs: expiresAtMs ?? null,
    })),
    rateLimitPerSecond: subscription.rateLimitPerSecond ?? null,
    maxConcurrency: subscription.maxConcurrency,
    ordering: subscription.ordering,
    producerIds: subscription.producerIds === undefined ? null : [...subscription.producerIds],
    ...(subscription.tenant === undefined ? {} : { tenant: subscription.tenant }),
    ...(subscription.filter === undefined ? {} : { filter: subscription.filter }),
    ...(subscription.headers === undefined || subscription.headers.length === 0
      ? {}
      : {
          headers: subscription.headers.map(({ name, value, secret }) =>
            secret
              ? { name, secret: keyring.encrypt(value, headerContext(subscription.id, name)) }
              : { name, value },
          ),
        }),
    ...(subscription.retry === undefined
      ? {}
      : {
          retry: {
            delaysMs: subscription.retry.delaysMs === undefined ? null : [...subscription.retry.delaysMs],
            maxAttempts: subscription.retry.maxAttempts ?? null,
          },
        }),
    ...(subscription.timeoutMs === undefined ? {} : { timeoutMs: subscription.timeoutMs }),
    createdAt: subscription.createdAt,
    updatedAt: subscription.updatedAt,
  };
  return {
    key: subscription.id,
    value: Buffer.from(JSON.stringify(record), 'utf8'),
    headers: { 'content-type': subscriptionRecordContentType(record.v) },
  };
}

/** The tombstone that deletes subscription `id`. */
export function encodeSubscriptionTombstone(id: string): EncodedSubscriptionRecord & { value: null } {
  return { key: id, value: null, headers: {} };
}

/**
 * Reads one record of the subscriptions topic. Never throws: a record that cannot be read (bad
 * JSON, an unknown format version, a secret under a key not in the keyring, a tampered ciphertext)
 * comes back as `invalid` with a reason and a message that is safe to log.
 */
export function decodeSubscriptionRecord(
  key: Buffer | string | null,
  value: Buffer | null,
  keyring: SecretsKeyring,
): DecodedSubscriptionRecord {
  if (key === null || key.length === 0) {
    return { kind: 'invalid', id: undefined, reason: 'no-key', message: 'the record has no key' };
  }
  const id = typeof key === 'string' ? key : key.toString('utf8');
  if (value === null) return { kind: 'delete', id };
  const invalid = (reason: 'malformed' | 'unsupported-version' | DecryptFailure, message: string) =>
    ({ kind: 'invalid', id, reason, message }) as const;

  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return invalid('malformed', 'the record value is not JSON');
  }
  if (!isObject(parsed)) return invalid('malformed', 'the record value is not a JSON object');
  if (!readableVersions.includes(parsed.v)) {
    return invalid('unsupported-version', `record format version ${String(parsed.v)} is not supported`);
  }
  const problem = structuralProblem(parsed, id);
  if (problem !== undefined) return invalid('malformed', problem);
  const record = parsed as unknown as SubscriptionRecord;

  const context = secretContext(id);
  const secrets: Array<{ secret: string; expiresAtMs: number | undefined }> = [];
  for (const [index, stored] of record.secrets.entries()) {
    const decrypted = keyring.decrypt(stored, context);
    if (!decrypted.ok) return invalid(decrypted.reason, `secrets[${index}]: ${decrypted.message}`);
    secrets.push({ secret: decrypted.plaintext, expiresAtMs: stored.expiresAtMs ?? undefined });
  }
  const headers: CustomHeader[] = [];
  for (const [index, stored] of (record.headers ?? []).entries()) {
    if ('value' in stored) {
      headers.push({ name: stored.name, value: stored.value, secret: false });
      continue;
    }
    const decrypted = keyring.decrypt(stored.secret, headerContext(id, stored.name));
    if (!decrypted.ok) return invalid(decrypted.reason, `headers[${index}]: ${decrypted.message}`);
    if (!isSendableHeader({ name: stored.name, value: decrypted.plaintext })) {
      return invalid('malformed', `headers[${index}]: not a header a subscription may send`);
    }
    headers.push({ name: stored.name, value: decrypted.plaintext, secret: true });
  }
  const subscription: Subscription = {
    id,
    url: record.url,
    eventTypes: [...record.eventTypes],
    description: record.description,
    enabled: record.enabled,
    disabledReason: record.disabledReason ?? undefined,
    disabledAt: record.disabledAt ?? undefined,
    failingSince: record.failingSince ?? undefined,
    secrets,
    rateLimitPerSecond: record.rateLimitPerSecond ?? undefined,
    maxConcurrency: record.maxConcurrency,
    ordering: record.ordering,
    producerIds: record.producerIds === null ? undefined : [...record.producerIds],
    tenant: record.tenant,
    ...(record.filter === undefined ? {} : { filter: record.filter }),
    ...(headers.length === 0 ? {} : { headers }),
    ...(record.retry === undefined ? {} : { retry: retryOverride(record.retry) }),
    ...(record.timeoutMs === undefined ? {} : { timeoutMs: record.timeoutMs }),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
  return { kind: 'upsert', subscription };
}

/** The first way `record` departs from the shape of its version, or undefined when it fits. */
function structuralProblem(record: Record<string, unknown>, key: string): string | undefined {
  if (record.id !== key) return 'the id in the value differs from the record key';
  const checks: Array<[field: string, ok: boolean]> = [
    ['url', typeof record.url === 'string'],
    ['eventTypes', isStringArray(record.eventTypes) && record.eventTypes.length > 0],
    ['description', typeof record.description === 'string'],
    ['enabled', typeof record.enabled === 'boolean'],
    [
      'disabledReason',
      record.disabledReason === null ||
        (disabledReasons as readonly unknown[]).includes(record.disabledReason),
    ],
    ['disabledAt', isOptionalString(record.disabledAt)],
    ['failingSince', isOptionalString(record.failingSince)],
    [
      'secrets',
      Array.isArray(record.secrets) &&
        record.secrets.every(isStoredSecret) &&
        // The current secret never expires, so a subscription always has one to sign with.
        record.secrets.length > 0 &&
        ((record.secrets[0] as StoredSecret).expiresAtMs ?? null) === null,
    ],
    ['rateLimitPerSecond', record.rateLimitPerSecond === null || isPositiveNumber(record.rateLimitPerSecond)],
    ['maxConcurrency', Number.isSafeInteger(record.maxConcurrency) && (record.maxConcurrency as number) > 0],
    ['ordering', record.ordering === 'none' || record.ordering === 'key'],
    ['producerIds', record.producerIds === null || isStringArray(record.producerIds)],
    // Version 2 exists for the tenant: one without it is as broken as a version 1 record with one.
    [
      'tenant',
      record.v === tenantSubscriptionRecordVersion ? isTenantId(record.tenant) : record.tenant === undefined,
    ],
    // The filter's own rules, not only its shape: one the worker cannot evaluate must not be served.
    ['filter', record.filter === undefined || !('problems' in parsePayloadFilter(record.filter))],
    [
      'headers',
      record.headers === undefined ||
        (Array.isArray(record.headers) &&
          record.headers.every(isStoredHeader) &&
          hasUniqueNames(record.headers)),
    ],
    ['retry', record.retry === undefined || isStoredRetry(record.retry)],
    [
      'timeoutMs',
      record.timeoutMs === undefined ||
        (Number.isSafeInteger(record.timeoutMs) && (record.timeoutMs as number) > 0),
    ],
    ['createdAt', typeof record.createdAt === 'string'],
    ['updatedAt', typeof record.updatedAt === 'string'],
  ];
  const failed = checks.find(([, ok]) => !ok);
  return failed === undefined ? undefined : `field ${failed[0]} is missing or has the wrong type`;
}

function isStoredSecret(value: unknown): value is StoredSecret {
  return (
    isObject(value) &&
    typeof value.keyId === 'string' &&
    typeof value.iv === 'string' &&
    typeof value.ciphertext === 'string' &&
    typeof value.tag === 'string' &&
    (value.expiresAtMs === null || value.expiresAtMs === undefined || Number.isSafeInteger(value.expiresAtMs))
  );
}

function isOptionalString(value: unknown): boolean {
  return value === undefined || value === null || typeof value === 'string';
}

function isStoredHeader(value: unknown): value is StoredHeader {
  if (!isObject(value) || typeof value.name !== 'string') return false;
  if (typeof value.value === 'string')
    return value.secret === undefined && isSendableHeader({ name: value.name, value: value.value });
  // A secret value is checked once decrypted; its name can be checked now.
  return (
    value.value === undefined &&
    isStoredSecret(value.secret) &&
    isSendableHeader({ name: value.name, value: 'x' })
  );
}

function hasUniqueNames(headers: ReadonlyArray<{ name: string }>): boolean {
  return new Set(headers.map((header) => header.name)).size === headers.length;
}

function isStoredRetry(value: unknown): value is StoredRetry {
  return (
    isObject(value) &&
    (value.delaysMs === null ||
      (Array.isArray(value.delaysMs) &&
        value.delaysMs.length > 0 &&
        value.delaysMs.every((delayMs) => Number.isSafeInteger(delayMs) && (delayMs as number) > 0))) &&
    (value.maxAttempts === null ||
      (Number.isSafeInteger(value.maxAttempts) && (value.maxAttempts as number) >= 1))
  );
}

function retryOverride(stored: StoredRetry): RetryOverride {
  return { delaysMs: stored.delaysMs ?? undefined, maxAttempts: stored.maxAttempts ?? undefined };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}
