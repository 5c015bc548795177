import { randomBytes } from 'node:crypto';
import { SluiceError } from '../errors.js';
import { eventTypeGlobPattern } from '../event-type-matcher.js';
import { defaultAttemptTimeoutMs, type DeliveryBounds } from '../retry/delivery-bounds.js';
import { defaultRetrySchedule, parseRetrySchedule } from '../retry/retry-schedule.js';
import { checkWebhookUrl, type SsrfPolicy } from '../ssrf-guard.js';
import { isTenantId, tenantIdRule } from '../tenant-id.js';
import { isValidWebhookSecret } from '../webhook-signer.js';
import {
  parseCustomHeaders,
  resolveCustomHeaders,
  type CustomHeader,
  type CustomHeaderInput,
} from './custom-headers.js';
import { parseRetryOverride, parseTimeoutMs, type RetryOverride } from './delivery-overrides.js';
import { checkFilterFields, type FilterFieldTypes } from './payload-filter-fields.js';
import { parsePayloadFilter, type PayloadFilter } from './payload-filter.js';
import type { Subscription } from './subscription.js';
import { describeValue, isPlainObject } from '../json-values.js';

/** Bounds and defaults of subscription fields (the fields: README.md#subscriptions-and-webhooks). */
export const subscriptionLimits = {
  /** Deliveries in flight at once to one endpoint when `maxConcurrency` is not given. */
  defaultMaxConcurrency: 16,
  maxConcurrency: 1000,
  /** Deliveries per second; an absent or null `rateLimitPerSecond` means unlimited. */
  maxRateLimitPerSecond: 100_000,
  maxUrlChars: 2048,
  maxEventTypes: 100,
  maxEventTypeChars: 200,
  maxDescriptionChars: 1000,
  maxProducerIds: 1000,
} as const;

/**
 * What subscription input is checked against besides its own shape: the global delivery settings
 * a subscription's retry schedule and timeout must fit in, and the schemas a filter's paths must
 * exist in. Without `filterFields` (a process that never saves a subscription), paths are not
 * checked against schemas.
 */
export interface SubscriptionInputRules {
  /** Default: the defaults of `SLUICE_RETRY_SCHEDULE` and `SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS`. */
  deliveryBounds?: DeliveryBounds | undefined;
  filterFields?: FilterFieldTypes | undefined;
}

const defaultDeliveryBounds: DeliveryBounds = {
  retryDelaysMs: (parseRetrySchedule(defaultRetrySchedule) as { delaysMs: number[] }).delaysMs,
  attemptTimeoutMs: defaultAttemptTimeoutMs,
};

/** A header as a request gives it: a plain value, or `{value, secret}`. */
export type CustomHeaderRequest = string | { value?: string | undefined; secret?: boolean | undefined };

/** A subscription as a caller asks for it; see `validateSubscriptionCreate` for the rules. */
export interface SubscriptionCreateInput {
  url: string;
  eventTypes: readonly string[];
  description?: string | undefined;
  enabled?: boolean | undefined;
  /** A `whsec_…` secret; generated when absent. */
  secret?: string | undefined;
  /** Null or absent: unlimited. */
  rateLimitPerSecond?: number | null | undefined;
  maxConcurrency?: number | undefined;
  ordering?: 'none' | 'key' | undefined;
  /** Null or absent: events of every producer. */
  producerIds?: readonly string[] | null | undefined;
  /** Null or absent: a global subscription (events of every tenant). */
  tenant?: string | null | undefined;
  /** Null or absent: every event. */
  filter?: PayloadFilter | null | undefined;
  /** Name → value, or `{value, secret: true}` for a secret one. */
  headers?: Readonly<Record<string, CustomHeaderRequest>> | null | undefined;
  /** Tiers of `SLUICE_RETRY_SCHEDULE` (`["5s", "2m"]`) and/or the number of attempts. */
  retry?: { schedule?: readonly string[] | null; maxAttempts?: number | null } | null | undefined;
  timeoutMs?: number | null | undefined;
}

/** A PATCH body as a caller sends it; see `validateSubscriptionPatch` for the rules. */
export type SubscriptionPatchInput = Partial<Omit<SubscriptionCreateInput, 'secret'>>;

/** A validated create request: defaults applied, the URL normalised, the secret still optional. */
export interface ValidSubscriptionCreate {
  url: string;
  eventTypes: string[];
  description: string;
  enabled: boolean;
  secret: string | undefined;
  rateLimitPerSecond: number | undefined;
  maxConcurrency: number;
  ordering: 'none' | 'key';
  producerIds: string[] | undefined;
  tenant: string | undefined;
  filter: PayloadFilter | undefined;
  headers: CustomHeader[];
  retry: RetryOverride | undefined;
  timeoutMs: number | undefined;
}

/**
 * The fields a PATCH may change; absent fields stay as they are. Null clears `rateLimitPerSecond`
 * (unlimited), `producerIds` (every producer), `tenant` (global), `filter`, `headers`, `retry`
 * and `timeoutMs` (the global settings). `headers` replaces the whole set; a secret header given
 * as `{"secret": true}` keeps its stored value (`resolveSubscriptionPatch`). The secret changes
 * only by rotation.
 */
export interface SubscriptionPatch {
  url?: string | undefined;
  eventTypes?: readonly string[] | undefined;
  description?: string | undefined;
  enabled?: boolean | undefined;
  rateLimitPerSecond?: number | null | undefined;
  maxConcurrency?: number | undefined;
  ordering?: 'none' | 'key' | undefined;
  producerIds?: readonly string[] | null | undefined;
  tenant?: string | null | undefined;
  filter?: PayloadFilter | null | undefined;
  headers?: readonly CustomHeaderInput[] | null | undefined;
  retry?: RetryOverride | null | undefined;
  timeoutMs?: number | null | undefined;
}

/** A patch whose kept secret headers were looked up in the subscription it changes. */
export type ResolvedSubscriptionPatch = Omit<SubscriptionPatch, 'headers'> & {
  headers?: readonly CustomHeader[] | null | undefined;
};

/** One problem of a request, with the JSON path of the field it concerns. */
export interface FieldProblem {
  field: string;
  message: string;
  /** For a URL refused by the SSRF policy: why (loopback, private, metadata…). */
  reason?: string;
}

const idPrefix = 'sub_';
const idPattern = /^sub_[a-z0-9]{20,40}$/;
/** Producer ids travel in Kafka headers and metric labels (same rule as API keys). */
const producerIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const writableFields = new Set([
  'url',
  'eventTypes',
  'description',
  'enabled',
  'rateLimitPerSecond',
  'maxConcurrency',
  'ordering',
  'producerIds',
  'tenant',
  'filter',
  'headers',
  'retry',
  'timeoutMs',
]);
const readOnlyFields = new Set(['id', 'createdAt', 'updatedAt', 'disabledReason', 'secrets', 'signing']);
const urlRefusalsThatAreNotSsrf = new Set(['invalid-url', 'scheme', 'credentials']);

/** A new subscription id: `sub_` and 26 base-32 characters (130 random bits). */
export function newSubscriptionId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(26);
  let id = idPrefix;
  for (const byte of bytes) id += alphabet[byte & 31];
  return id;
}

/** Whether `id` has the shape of a subscription id (anything else is a 404 without a lookup). */
export function isSubscriptionId(id: string): boolean {
  return idPattern.test(id);
}

/**
 * Checks a create request (parsed JSON or a typed input). Every problem is reported at once:
 * 422 SLUICE_INVALID_SUBSCRIPTION with `errors: [{field, message}]`, or SLUICE_URL_FORBIDDEN
 * when the URL refused by the SSRF policy is the only problem.
 */
export function validateSubscriptionCreate(
  raw: unknown,
  policy: SsrfPolicy,
  rules: SubscriptionInputRules = {},
): ValidSubscriptionCreate | SluiceError {
  if (!isPlainObject(raw)) return invalidBody();
  const problems: FieldProblem[] = [];
  checkFieldNames(raw, problems, new Set([...writableFields, 'secret']));
  if (raw.url === undefined) problems.push({ field: 'url', message: 'url is required' });
  if (raw.eventTypes === undefined) {
    problems.push({ field: 'eventTypes', message: 'eventTypes is required, e.g. ["order.*"]' });
  }
  const fields = checkWritableFields(raw, problems, policy, rules, false);
  if (fields.filter && fields.eventTypes) {
    problems.push(...filterFieldProblems(fields.filter, fields.eventTypes, rules));
  }
  let secret: string | undefined;
  if (raw.secret !== undefined && raw.secret !== null) {
    if (typeof raw.secret !== 'string' || !isValidWebhookSecret(raw.secret)) {
      // Never quote the value: it is meant to be a secret.
      problems.push({
        field: 'secret',
        message: 'secret must be whsec_ followed by the base64 of 24 to 64 random bytes, or be omitted',
      });
    } else {
      secret = raw.secret;
    }
  }
  if (problems.length > 0) return rejection(problems);
  return {
    url: fields.url as string,
    eventTypes: fields.eventTypes as string[],
    description: fields.description ?? '',
    enabled: fields.enabled ?? true,
    secret,
    rateLimitPerSecond: fields.rateLimitPerSecond ?? undefined,
    maxConcurrency: fields.maxConcurrency ?? subscriptionLimits.defaultMaxConcurrency,
    ordering: fields.ordering ?? 'none',
    producerIds: fields.producerIds ?? undefined,
    tenant: fields.tenant ?? undefined,
    filter: fields.filter ?? undefined,
    // Kept values exist only in a patch: here every header has its value.
    headers: (fields.headers ?? []) as CustomHeader[],
    retry: fields.retry ?? undefined,
    timeoutMs: fields.timeoutMs ?? undefined,
  };
}

/**
 * Checks a PATCH body; same rules and answers as `validateSubscriptionCreate`, except what needs
 * the subscription it changes, which `resolveSubscriptionPatch` checks.
 */
export function validateSubscriptionPatch(
  raw: unknown,
  policy: SsrfPolicy,
  rules: SubscriptionInputRules = {},
): SubscriptionPatch | SluiceError {
  if (!isPlainObject(raw)) return invalidBody();
  const problems: FieldProblem[] = [];
  if (raw.secret !== undefined) {
    problems.push({
      field: 'secret',
      message: 'the secret cannot be patched; use POST /v1/subscriptions/{id}/rotate-secret',
    });
  }
  checkFieldNames(raw, problems, writableFields, new Set(['secret']));
  const fields = checkWritableFields(raw, problems, policy, rules, true);
  if (problems.length > 0) return rejection(problems);
  return fields;
}

/**
 * What a valid patch means for `current`: kept secret headers take their stored values (which
 * must exist), and the filter that will be in force is checked against the event types that will
 * be, whenever either changes (a narrower `eventTypes` can leave a filter's path in no type).
 */
export function resolveSubscriptionPatch(
  current: Subscription,
  patch: SubscriptionPatch,
  rules: SubscriptionInputRules = {},
): ResolvedSubscriptionPatch | SluiceError {
  const problems: FieldProblem[] = [];
  let headers: readonly CustomHeader[] | null | undefined;
  if (patch.headers === null || patch.headers === undefined) {
    headers = patch.headers;
  } else {
    const resolved = resolveCustomHeaders(patch.headers, current.headers ?? []);
    if (isHeaderList(resolved)) headers = resolved;
    else problems.push(...resolved);
  }
  if (patch.filter !== undefined || patch.eventTypes !== undefined) {
    const filter = patch.filter === undefined ? current.filter : (patch.filter ?? undefined);
    if (filter !== undefined) {
      problems.push(...filterFieldProblems(filter, patch.eventTypes ?? current.eventTypes, rules));
    }
  }
  if (problems.length > 0) return rejection(problems);
  return { ...patch, headers };
}

function isHeaderList(value: CustomHeader[] | FieldProblem[]): value is CustomHeader[] {
  return value.every((entry) => 'name' in entry);
}

/** The filter's `data.…` paths against the schemas of the types `eventTypes` match. */
function filterFieldProblems(
  filter: PayloadFilter,
  eventTypes: readonly string[],
  rules: SubscriptionInputRules,
): FieldProblem[] {
  if (rules.filterFields === undefined) return [];
  const parsed = parsePayloadFilter(filter);
  if ('problems' in parsed) return parsed.problems;
  return checkFilterFields(parsed.conditions, eventTypes, rules.filterFields);
}

/** Checks the optional body of a rotate-secret request: `{}` or `{"secret":"whsec_…"}`. */
export function validateSecretRotation(raw: unknown): { secret: string | undefined } | SluiceError {
  if (raw === undefined) return { secret: undefined };
  if (!isPlainObject(raw)) return invalidBody();
  const problems: FieldProblem[] = [];
  checkFieldNames(raw, problems, new Set(['secret']));
  const { secret } = raw;
  if (
    secret !== undefined &&
    secret !== null &&
    (typeof secret !== 'string' || !isValidWebhookSecret(secret))
  ) {
    problems.push({
      field: 'secret',
      message: 'secret must be whsec_ followed by the base64 of 24 to 64 random bytes, or be omitted',
    });
  }
  if (problems.length > 0) return rejection(problems);
  return { secret: typeof secret === 'string' ? secret : undefined };
}

function checkFieldNames(
  raw: Record<string, unknown>,
  problems: FieldProblem[],
  allowed: ReadonlySet<string>,
  reportedElsewhere: ReadonlySet<string> = new Set(),
): void {
  for (const field of Object.keys(raw)) {
    if (allowed.has(field) || reportedElsewhere.has(field)) continue;
    problems.push({
      field,
      message: readOnlyFields.has(field) ? `${field} is read-only` : `unknown field ${field}`,
    });
  }
}

/** Checks each writable field that is present; returns the normalised values of the valid ones. */
function checkWritableFields(
  raw: Record<string, unknown>,
  problems: FieldProblem[],
  policy: SsrfPolicy,
  rules: SubscriptionInputRules,
  isPatch: boolean,
): SubscriptionPatch & { eventTypes?: string[]; producerIds?: string[] | null } {
  const out: SubscriptionPatch & { eventTypes?: string[]; producerIds?: string[] | null } = {};
  const problem = (field: string, message: string) => problems.push({ field, message });

  if (raw.url !== undefined) {
    const url = checkUrl(raw.url, policy);
    if (typeof url === 'string') out.url = url;
    else problems.push(url);
  }

  if (raw.eventTypes !== undefined) {
    const { eventTypes } = raw;
    if (!Array.isArray(eventTypes) || eventTypes.length === 0) {
      problem('eventTypes', 'eventTypes must be a non-empty array of event types or globs such as order.*');
    } else if (eventTypes.length > subscriptionLimits.maxEventTypes) {
      problem('eventTypes', `eventTypes may hold at most ${subscriptionLimits.maxEventTypes} entries`);
    } else {
      const before = problems.length;
      eventTypes.forEach((glob: unknown, index) => {
        if (
          typeof glob !== 'string' ||
          glob.length > subscriptionLimits.maxEventTypeChars ||
          !eventTypeGlobPattern.test(glob)
        ) {
          problem(
            `eventTypes[${index}]`,
            `must be an event type or a glob such as order.* (letters, digits, '.', '_', '-', '*'), got ${describeValue(glob)}`,
          );
        }
      });
      if (problems.length === before) out.eventTypes = [...new Set(eventTypes as string[])];
    }
  }

  if (raw.description !== undefined) {
    const { description } = raw;
    if (typeof description !== 'string' || description.length > subscriptionLimits.maxDescriptionChars) {
      problem(
        'description',
        `description must be text of at most ${subscriptionLimits.maxDescriptionChars} characters`,
      );
    } else {
      out.description = description;
    }
  }

  if (raw.enabled !== undefined) {
    if (typeof raw.enabled !== 'boolean')
      problem('enabled', `enabled must be true or false, got ${describeValue(raw.enabled)}`);
    else out.enabled = raw.enabled;
  }

  if (raw.rateLimitPerSecond !== undefined) {
    const rate = raw.rateLimitPerSecond;
    if (rate === null) out.rateLimitPerSecond = null;
    else if (
      typeof rate !== 'number' ||
      !Number.isFinite(rate) ||
      rate <= 0 ||
      rate > subscriptionLimits.maxRateLimitPerSecond
    ) {
      problem(
        'rateLimitPerSecond',
        `rateLimitPerSecond must be a number of deliveries per second above 0 and at most ${subscriptionLimits.maxRateLimitPerSecond}, or null for unlimited, got ${describeValue(rate)}`,
      );
    } else {
      out.rateLimitPerSecond = rate;
    }
  }

  if (raw.maxConcurrency !== undefined) {
    const concurrency = raw.maxConcurrency;
    if (
      !Number.isSafeInteger(concurrency) ||
      (concurrency as number) < 1 ||
      (concurrency as number) > subscriptionLimits.maxConcurrency
    ) {
      problem(
        'maxConcurrency',
        `maxConcurrency must be a whole number from 1 to ${subscriptionLimits.maxConcurrency}, got ${describeValue(concurrency)}`,
      );
    } else {
      out.maxConcurrency = concurrency as number;
    }
  }

  if (raw.ordering !== undefined) {
    if (raw.ordering !== 'none' && raw.ordering !== 'key') {
      problem('ordering', `ordering must be "none" or "key", got ${describeValue(raw.ordering)}`);
    } else {
      out.ordering = raw.ordering;
    }
  }

  if (raw.producerIds !== undefined) {
    const { producerIds } = raw;
    if (producerIds === null) {
      out.producerIds = null;
    } else if (!Array.isArray(producerIds) || producerIds.length === 0) {
      problem(
        'producerIds',
        'producerIds must be a non-empty array of producer ids, or null for every producer',
      );
    } else if (producerIds.length > subscriptionLimits.maxProducerIds) {
      problem('producerIds', `producerIds may hold at most ${subscriptionLimits.maxProducerIds} entries`);
    } else {
      const before = problems.length;
      producerIds.forEach((producerId: unknown, index) => {
        if (typeof producerId !== 'string' || !producerIdPattern.test(producerId)) {
          problem(
            `producerIds[${index}]`,
            `must be a producer id (1-64 letters, digits, '.', '_' or '-'), got ${describeValue(producerId)}`,
          );
        }
      });
      if (problems.length === before) out.producerIds = [...new Set(producerIds as string[])];
    }
  }

  if (raw.tenant !== undefined) {
    if (raw.tenant === null) out.tenant = null;
    else if (isTenantId(raw.tenant)) out.tenant = raw.tenant;
    else {
      problem(
        'tenant',
        `tenant must be a tenant id (${tenantIdRule}), or null for a global subscription, got ${describeValue(raw.tenant)}`,
      );
    }
  }
  checkDeliveryFields(raw, out, problems, rules.deliveryBounds ?? defaultDeliveryBounds, isPatch);
  return out;
}

/** `filter`, `headers`, `retry` and `timeoutMs`: each null (cleared) or checked by its own module. */
function checkDeliveryFields(
  raw: Record<string, unknown>,
  out: SubscriptionPatch,
  problems: FieldProblem[],
  bounds: DeliveryBounds,
  isPatch: boolean,
): void {
  if (raw.filter !== undefined) {
    const parsed = raw.filter === null ? { filter: null } : parsePayloadFilter(raw.filter);
    if ('problems' in parsed) problems.push(...parsed.problems);
    else out.filter = parsed.filter;
  }
  if (raw.headers !== undefined) {
    const parsed = raw.headers === null ? { headers: null } : parseCustomHeaders(raw.headers, isPatch);
    if ('problems' in parsed) problems.push(...parsed.problems);
    else out.headers = parsed.headers;
  }
  if (raw.retry !== undefined) {
    const parsed = raw.retry === null ? { retry: null } : parseRetryOverride(raw.retry, bounds);
    if ('problems' in parsed) problems.push(...parsed.problems);
    else out.retry = parsed.retry;
  }
  if (raw.timeoutMs !== undefined) {
    const parsed = raw.timeoutMs === null ? { timeoutMs: null } : parseTimeoutMs(raw.timeoutMs, bounds);
    if ('problems' in parsed) problems.push(...parsed.problems);
    else out.timeoutMs = parsed.timeoutMs;
  }
}

/** The normalised URL (what is checked is exactly what is stored and called), or its problem. */
function checkUrl(url: unknown, policy: SsrfPolicy): string | FieldProblem {
  if (typeof url !== 'string' || url.length === 0) {
    return { field: 'url', message: `url must be an absolute http or https URL, got ${describeValue(url)}` };
  }
  if (url.length > subscriptionLimits.maxUrlChars) {
    return { field: 'url', message: `url must be at most ${subscriptionLimits.maxUrlChars} characters` };
  }
  const check = checkWebhookUrl(url, policy);
  if (!check.ok) {
    return urlRefusalsThatAreNotSsrf.has(check.reason)
      ? { field: 'url', message: check.message }
      : { field: 'url', message: `url refused by the SSRF policy: ${check.message}`, reason: check.reason };
  }
  return new URL(url).href;
}

function rejection(problems: FieldProblem[]): SluiceError {
  const onlySsrf = problems.every((problem) => problem.reason !== undefined);
  const summary = problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
  return new SluiceError(
    onlySsrf ? 'SLUICE_URL_FORBIDDEN' : 'SLUICE_INVALID_SUBSCRIPTION',
    onlySsrf ? summary : `invalid subscription: ${summary}`,
    { details: { errors: problems } },
  );
}

function invalidBody(): SluiceError {
  return new SluiceError('SLUICE_INVALID_SUBSCRIPTION', 'the request body must be a JSON object', {
    details: { errors: [{ field: '', message: 'the request body must be a JSON object' }] },
  });
}
