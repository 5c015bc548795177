import { keyHashPrefix } from './api-key-hash.js';
import { eventTypeGlobPattern } from '../../common/event-type-matcher.js';
import { isTenantId, tenantIdRule } from '../../common/tenant-id.js';
import { isPriority, priorities, type Priority } from '../admission/priority.js';
import { describeValue } from '../../common/json-values.js';

export const apiKeyRoles = ['producer', 'admin'] as const;
export type ApiKeyRole = (typeof apiKeyRoles)[number];

/** Defaults for the optional fields of a keys-file entry. */
export const apiKeyDefaults = {
  /** Sustained events per second (a batch of 100 costs 100). */
  ratePerSecond: 1000,
  /** When `burst` is absent it is this many seconds' worth of `ratePerSecond`. */
  burstSeconds: 2,
  priority: 'normal' as Priority,
} as const;

/** One API key as loaded: every field present, defaults applied. */
export interface ApiKeyRecord {
  /** `sha256:<hex>` of the key; the key itself is never stored. */
  readonly keyHash: string;
  /** Who sends with this key; becomes the `sluice_producer` Kafka header and a metric label. */
  readonly producerId: string;
  readonly role: ApiKeyRole;
  /** Globs of the event types this key may send (`*` = all; `order.*`). */
  readonly allowedEventTypes: readonly string[];
  /** Token-bucket refill rate, in events per second. */
  readonly ratePerSecond: number;
  /** Token-bucket capacity, in events: the largest burst (or batch) admitted at once. */
  readonly burst: number;
  /** The load-shedding class of every request made with this key. */
  readonly priority: Priority;
  /**
   * The one tenant this key acts for (README.md#tenants): every event it sends carries it, an
   * event naming another is refused, and it manages that tenant's subscriptions only. Absent: the
   * key is not bound to a tenant. Only producer keys can be bound; admin keys see every tenant.
   */
  readonly tenant?: string;
  /** Free text for operators; never used for decisions. */
  readonly description?: string;
  /** When the key was created (RFC 3339), for rotation audits. */
  readonly createdAt?: string;
}

const knownFields = new Set([
  'keyHash',
  'producerId',
  'role',
  'allowedEventTypes',
  'ratePerSecond',
  'burst',
  'priority',
  'tenant',
  'description',
  'createdAt',
]);
const keyHashFormat = /^sha256:[0-9a-f]{64}$/;
/** Producer ids travel in Kafka headers and metric labels: keep them short and plain. */
const producerIdFormat = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const maxDescriptionChars = 200;

/**
 * Checks one entry of a keys file and returns it with defaults applied, or undefined after adding
 * every problem found to `problems`, each prefixed by `label` (e.g. `entry 2 (line 3)`).
 * Problems never quote `keyHash`: a raw key pasted there by mistake must not reach the logs.
 */
export function validateApiKeyEntry(
  raw: unknown,
  label: string,
  problems: string[],
): ApiKeyRecord | undefined {
  const before = problems.length;
  const problem = (message: string) => problems.push(`${label}: ${message}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problem('must be a JSON object');
    return undefined;
  }
  const entry = raw as Record<string, unknown>;

  for (const field of Object.keys(entry)) {
    if (!knownFields.has(field)) problem(`unknown field ${JSON.stringify(field)}`);
  }

  const { keyHash } = entry;
  if (typeof keyHash !== 'string' || !keyHashFormat.test(keyHash)) {
    problem(
      typeof keyHash === 'string' && keyHash.startsWith('sk_')
        ? 'keyHash holds what looks like a raw API key; store its hash (sluice keys create prints the line)'
        : `keyHash must be "${keyHashPrefix}" followed by 64 lowercase hex digits`,
    );
  }

  const { producerId } = entry;
  if (typeof producerId !== 'string' || !producerIdFormat.test(producerId)) {
    problem(
      `producerId must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got ${describeValue(producerId)}`,
    );
  }

  const role = oneOf(entry.role, apiKeyRoles, undefined);
  if (role === undefined) {
    problem(`role must be one of ${apiKeyRoles.join(', ')}, got ${describeValue(entry.role)}`);
  }

  const allowedEventTypes = entry.allowedEventTypes;
  if (!Array.isArray(allowedEventTypes)) {
    problem(
      `allowedEventTypes must be an array of event type globs (["*"] for all), got ${describeValue(allowedEventTypes)}`,
    );
  } else {
    allowedEventTypes.forEach((glob: unknown, index) => {
      if (typeof glob !== 'string' || !eventTypeGlobPattern.test(glob)) {
        problem(
          `allowedEventTypes[${index}] must be an event type or a glob such as order.*, got ${describeValue(glob)}`,
        );
      }
    });
  }

  const ratePerSecond = entry.ratePerSecond ?? apiKeyDefaults.ratePerSecond;
  const rateIsValid = isFiniteNumber(ratePerSecond) && ratePerSecond > 0;
  if (!rateIsValid) {
    problem(
      `ratePerSecond must be a number of events per second above 0, got ${describeValue(entry.ratePerSecond)}`,
    );
  }

  let burst = entry.burst;
  if (burst === undefined) {
    if (rateIsValid) burst = Math.ceil(ratePerSecond * apiKeyDefaults.burstSeconds);
  } else if (!isFiniteNumber(burst) || burst < 1) {
    problem(`burst must be a number of events of at least 1, got ${describeValue(burst)}`);
  }

  const priority = entry.priority === undefined ? apiKeyDefaults.priority : entry.priority;
  if (!isPriority(priority)) {
    problem(`priority must be one of ${priorities.join(', ')}, got ${describeValue(entry.priority)}`);
  }

  const { tenant } = entry;
  if (tenant !== undefined) {
    if (!isTenantId(tenant)) {
      problem(`tenant must be a tenant id (${tenantIdRule}), got ${describeValue(tenant)}`);
    } else if (role === 'admin') {
      // An admin key manages every tenant's subscriptions: bound to one, what it may do is unclear.
      problem('tenant cannot be set on an admin key: admin keys act for every tenant');
    }
  }

  const { description, createdAt } = entry;
  if (
    description !== undefined &&
    (typeof description !== 'string' || description.length > maxDescriptionChars)
  ) {
    problem(`description must be text of at most ${maxDescriptionChars} characters`);
  }
  if (createdAt !== undefined && (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)))) {
    problem(`createdAt must be an RFC 3339 time, got ${describeValue(createdAt)}`);
  }

  if (problems.length > before) return undefined;
  return {
    keyHash: keyHash as string,
    producerId: producerId as string,
    role: role as ApiKeyRole,
    allowedEventTypes: [...(allowedEventTypes as string[])],
    ratePerSecond: ratePerSecond as number,
    burst: burst as number,
    priority: priority as Priority,
    ...(tenant === undefined ? {} : { tenant: tenant as string }),
    ...(description === undefined ? {} : { description: description as string }),
    ...(createdAt === undefined ? {} : { createdAt: createdAt as string }),
  };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  fallback: T | undefined,
): T | undefined {
  if (value === undefined) return fallback;
  return (allowed as readonly unknown[]).includes(value) ? (value as T) : undefined;
}
