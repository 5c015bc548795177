import { randomBytes } from 'node:crypto';
import { SluiceError } from '../../common/errors.js';
import { isPriority, type Priority } from '../admission/priority.js';
import { signingKey } from '../inbound/schemes/standard-webhooks-scheme.js';
import { schemes, type VerificationConfig } from '../inbound/schemes/verification.js';
import type { EventIdRule, EventTypeRule, Source } from './source.js';

/** Bounds and defaults of source fields (documented in README.md#inbound-webhooks). */
export const sourceLimits = {
  defaultToleranceSeconds: 300,
  maxToleranceSeconds: 86_400,
  defaultRatePerSecond: 1000,
  defaultBurstSeconds: 2,
  defaultMaxBodyBytes: 1024 * 1024,
  maxBodyBytes: 5 * 1024 * 1024,
  /** Room in an inbound record beyond the body: its other fields and the kept provider headers. */
  recordOverheadBytes: 64 * 1024,
  maxSecretChars: 512,
  maxDescriptionChars: 1000,
  maxPathChars: 200,
  /** How long a rotated-out secret keeps verifying when the rotation does not say. */
  defaultPreviousSecretSeconds: 86_400,
} as const;

/** A validated create request: every field defaulted. */
export type SourceFields = Omit<Source, 'id' | 'secrets' | 'createdAt' | 'updatedAt'>;

/** The fields a PATCH may change; the secret changes only by rotation. */
export type SourcePatch = Partial<SourceFields>;

export interface FieldProblem {
  field: string;
  message: string;
}

const idPattern = /^src_[a-z0-9]{20,40}$/;
/** The name starts every event type of the source: one event type segment. */
const namePattern = /^[a-z][a-z0-9_]{0,39}$/;
const headerNamePattern = /^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const bodyPathPattern = /^[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*$/;
/** A fixed type: dotted lower-case segments (the source name is put before it). */
const fixedTypePattern = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$/;
const writable = [
  'name',
  'description',
  'verification',
  'eventType',
  'eventId',
  'ratePerSecond',
  'burst',
  'priority',
  'maxBodyBytes',
  'enabled',
];

/** A new source id: `src_` and 26 base-32 characters (130 random bits). */
export function newSourceId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let id = 'src_';
  for (const byte of randomBytes(26)) id += alphabet[byte & 31];
  return id;
}

/**
 * The largest `maxBodyBytes` a gateway can write. The record writer sends a record larger than a
 * produce request alone rather than refuse it, so a body near 5 MiB would reach Kafka in a request
 * above SLUICE_PRODUCE_MAX_BATCH_BYTES, the bound kept below the topic's max.message.bytes: Kafka
 * would refuse it every time, however often the provider retried.
 */
export interface SourceBodyLimit {
  maxBodyBytes: number;
  /** Why the bound is lower than sourceLimits.maxBodyBytes, for the 422 message. */
  reason?: string;
}

export function sourceBodyLimit(produceMaxBatchBytes: number): SourceBodyLimit {
  const writable = produceMaxBatchBytes - sourceLimits.recordOverheadBytes;
  if (writable >= sourceLimits.maxBodyBytes) return { maxBodyBytes: sourceLimits.maxBodyBytes };
  return {
    maxBodyBytes: writable,
    reason: `SLUICE_PRODUCE_MAX_BATCH_BYTES (${produceMaxBatchBytes}) less ${sourceLimits.recordOverheadBytes} bytes for the record's other fields`,
  };
}

const defaultBodyLimit: SourceBodyLimit = { maxBodyBytes: sourceLimits.maxBodyBytes };

export function isSourceId(id: string): boolean {
  return idPattern.test(id);
}

/** Checks a create request; every problem is reported at once (422 SLUICE_INVALID_SOURCE). */
export function validateSourceCreate(
  raw: unknown,
  bodyLimit: SourceBodyLimit = defaultBodyLimit,
): { fields: SourceFields; secret: string } | SluiceError {
  if (!isObject(raw)) return invalid([{ field: '', message: 'the body must be a JSON object' }]);
  const problems: FieldProblem[] = [];
  checkNames(raw, [...writable, 'secret'], problems);
  if (raw.name === undefined) problems.push({ field: 'name', message: 'name is required, e.g. "stripe"' });
  if (raw.verification === undefined) {
    problems.push({ field: 'verification', message: 'verification is required, e.g. {"scheme":"stripe"}' });
  }
  const verification =
    raw.verification === undefined ? undefined : readVerification(raw.verification, problems);
  const secret = readSecret(raw.secret, verification, problems);
  const partial = readFields(raw, problems, bodyLimit);
  const defaults = verification === undefined ? undefined : schemeDefaults(verification);
  const eventType = partial.eventType ?? defaults?.eventType;
  if (verification !== undefined && eventType === undefined) {
    problems.push({
      field: 'eventType',
      message: `eventType is required for the ${verification.scheme} scheme, e.g. {"from":"body","path":"type"}`,
    });
  }
  const ratePerSecond = partial.ratePerSecond ?? sourceLimits.defaultRatePerSecond;
  if (problems.length > 0 || verification === undefined || eventType === undefined || secret === undefined) {
    return invalid(problems);
  }
  return {
    secret,
    fields: {
      name: partial.name as string,
      description: partial.description ?? '',
      verification,
      eventType,
      eventId: partial.eventId ?? defaults?.eventId ?? { from: 'hash' },
      ratePerSecond,
      burst: partial.burst ?? Math.ceil(ratePerSecond * sourceLimits.defaultBurstSeconds),
      priority: partial.priority ?? 'normal',
      maxBodyBytes:
        partial.maxBodyBytes ?? Math.min(sourceLimits.defaultMaxBodyBytes, bodyLimit.maxBodyBytes),
      enabled: partial.enabled ?? true,
    },
  };
}

/** Checks a PATCH; a new `verification` replaces the old one whole (the secrets must still fit it). */
export function validateSourcePatch(
  raw: unknown,
  current: Source,
  bodyLimit: SourceBodyLimit = defaultBodyLimit,
): SourcePatch | SluiceError {
  if (!isObject(raw)) return invalid([{ field: '', message: 'the body must be a JSON object' }]);
  const problems: FieldProblem[] = [];
  checkNames(raw, writable, problems);
  if ('secret' in raw) {
    problems.push({ field: 'secret', message: 'secrets change by POST /v1/sources/{id}/rotate-secret' });
  }
  const verification =
    raw.verification === undefined ? undefined : readVerification(raw.verification, problems);
  if (verification !== undefined) {
    for (const { secret } of current.secrets) readSecret(secret, verification, problems);
  }
  const patch = readFields(raw, problems, bodyLimit);
  if (problems.length > 0) return invalid(problems);
  return verification === undefined ? patch : { ...patch, verification };
}

/** `{secret, previousSecretSeconds?}` of a rotation. */
export function validateSourceRotation(
  raw: unknown,
  current: Source,
): { secret: string; previousSecretMs: number } | SluiceError {
  if (!isObject(raw)) return invalid([{ field: '', message: 'the body must be a JSON object' }]);
  const problems: FieldProblem[] = [];
  checkNames(raw, ['secret', 'previousSecretSeconds'], problems);
  if (raw.secret === undefined) problems.push({ field: 'secret', message: 'secret is required' });
  const secret =
    raw.secret === undefined ? undefined : readSecret(raw.secret, current.verification, problems);
  const seconds = raw.previousSecretSeconds ?? sourceLimits.defaultPreviousSecretSeconds;
  if (!Number.isSafeInteger(seconds) || (seconds as number) < 0 || (seconds as number) > 30 * 86_400) {
    problems.push({
      field: 'previousSecretSeconds',
      message: 'previousSecretSeconds must be whole seconds from 0 to 2592000 (30 days)',
    });
  }
  if (problems.length > 0 || secret === undefined) return invalid(problems);
  return { secret, previousSecretMs: (seconds as number) * 1000 };
}

/** Where a scheme's providers put the type and id, used when the request does not say. */
function schemeDefaults(
  verification: VerificationConfig,
): { eventType?: EventTypeRule; eventId?: EventIdRule } | undefined {
  switch (verification.scheme) {
    case 'stripe':
      return { eventType: { from: 'body', path: 'type' }, eventId: { from: 'body', path: 'id' } };
    case 'github':
      return {
        eventType: { from: 'header', name: 'x-github-event' },
        eventId: { from: 'header', name: 'x-github-delivery' },
      };
    case 'shopify':
      return {
        eventType: { from: 'header', name: 'x-shopify-topic' },
        eventId: { from: 'header', name: 'x-shopify-webhook-id' },
      };
    case 'standard-webhooks':
      return { eventType: { from: 'body', path: 'type' }, eventId: { from: 'header', name: 'webhook-id' } };
    default:
      return undefined;
  }
}

function readFields(
  raw: Record<string, unknown>,
  problems: FieldProblem[],
  bodyLimit: SourceBodyLimit,
): Partial<SourceFields> {
  const fields: { -readonly [K in keyof SourceFields]?: SourceFields[K] } = {};
  if (raw.name !== undefined) {
    if (typeof raw.name === 'string' && namePattern.test(raw.name)) fields.name = raw.name;
    else
      problems.push({
        field: 'name',
        message: 'name must be 1-40 lower-case letters, digits or _, starting with a letter',
      });
  }
  if (raw.description !== undefined) {
    if (typeof raw.description === 'string' && raw.description.length <= sourceLimits.maxDescriptionChars) {
      fields.description = raw.description;
    } else
      problems.push({
        field: 'description',
        message: `description must be a string of at most ${sourceLimits.maxDescriptionChars} characters`,
      });
  }
  if (raw.eventType !== undefined) {
    const rule = readEventTypeRule(raw.eventType, problems);
    if (rule !== undefined) fields.eventType = rule;
  }
  if (raw.eventId !== undefined) {
    const rule = readEventIdRule(raw.eventId, problems);
    if (rule !== undefined) fields.eventId = rule;
  }
  if (raw.ratePerSecond !== undefined) {
    if (isNumber(raw.ratePerSecond) && raw.ratePerSecond > 0 && raw.ratePerSecond <= 1_000_000) {
      fields.ratePerSecond = raw.ratePerSecond;
    } else
      problems.push({
        field: 'ratePerSecond',
        message: 'ratePerSecond must be a number of requests per second above 0',
      });
  }
  if (raw.burst !== undefined) {
    if (Number.isSafeInteger(raw.burst) && (raw.burst as number) >= 1) fields.burst = raw.burst as number;
    else problems.push({ field: 'burst', message: 'burst must be a whole number of requests of at least 1' });
  }
  if (raw.priority !== undefined) {
    if (isPriority(raw.priority)) fields.priority = raw.priority as Priority;
    else problems.push({ field: 'priority', message: 'priority must be critical, normal or bulk' });
  }
  if (raw.maxBodyBytes !== undefined) {
    if (
      Number.isSafeInteger(raw.maxBodyBytes) &&
      (raw.maxBodyBytes as number) >= 1 &&
      (raw.maxBodyBytes as number) <= bodyLimit.maxBodyBytes
    ) {
      fields.maxBodyBytes = raw.maxBodyBytes as number;
    } else
      problems.push({
        field: 'maxBodyBytes',
        message: `maxBodyBytes must be a whole number from 1 to ${bodyLimit.maxBodyBytes}${bodyLimit.reason === undefined ? '' : `: the gateway cannot write a larger body (${bodyLimit.reason})`}`,
      });
  }
  if (raw.enabled !== undefined) {
    if (typeof raw.enabled === 'boolean') fields.enabled = raw.enabled;
    else problems.push({ field: 'enabled', message: 'enabled must be true or false' });
  }
  return fields;
}

function readVerification(raw: unknown, problems: FieldProblem[]): VerificationConfig | undefined {
  const field = 'verification';
  if (
    !isObject(raw) ||
    typeof raw.scheme !== 'string' ||
    !(schemes as readonly string[]).includes(raw.scheme)
  ) {
    problems.push({ field: `${field}.scheme`, message: `scheme must be one of ${schemes.join(', ')}` });
    return undefined;
  }
  const before = problems.length;
  const toleranceMs = (): number => {
    const seconds = raw.toleranceSeconds ?? sourceLimits.defaultToleranceSeconds;
    if (
      !Number.isSafeInteger(seconds) ||
      (seconds as number) < 1 ||
      (seconds as number) > sourceLimits.maxToleranceSeconds
    ) {
      problems.push({
        field: `${field}.toleranceSeconds`,
        message: `toleranceSeconds must be whole seconds from 1 to ${sourceLimits.maxToleranceSeconds}`,
      });
    }
    return (seconds as number) * 1000;
  };
  const headerName = (name: string, fallback?: string): string => {
    const value = raw[name] ?? fallback;
    if (typeof value === 'string' && headerNamePattern.test(value.toLowerCase())) return value.toLowerCase();
    problems.push({ field: `${field}.${name}`, message: `${name} must be an HTTP header name` });
    return '';
  };
  const prefix = (): string => {
    const value = raw.prefix ?? '';
    if (typeof value === 'string' && value.length <= 50) return value;
    problems.push({ field: `${field}.prefix`, message: 'prefix must be a string of at most 50 characters' });
    return '';
  };
  const allowed: Record<string, string[]> = {
    stripe: ['toleranceSeconds'],
    github: [],
    shopify: [],
    'standard-webhooks': ['toleranceSeconds'],
    hmac: ['header', 'algorithm', 'encoding', 'prefix', 'signed', 'timestampHeader', 'toleranceSeconds'],
    basic: [],
    'header-token': ['header', 'prefix'],
  };
  for (const name of Object.keys(raw)) {
    if (name !== 'scheme' && !allowed[raw.scheme]!.includes(name)) {
      problems.push({
        field: `${field}.${name}`,
        message: `${name} is not an option of the ${raw.scheme} scheme`,
      });
    }
  }
  let config: VerificationConfig;
  switch (raw.scheme) {
    case 'stripe':
    case 'standard-webhooks':
      config = { scheme: raw.scheme, toleranceMs: toleranceMs() };
      break;
    case 'github':
    case 'shopify':
    case 'basic':
      config = { scheme: raw.scheme };
      break;
    case 'header-token':
      config = { scheme: 'header-token', header: headerName('header'), prefix: prefix() };
      break;
    default: {
      const algorithm = raw.algorithm ?? 'sha256';
      const encoding = raw.encoding ?? 'hex';
      const signed = raw.signed ?? 'body';
      if (algorithm !== 'sha256' && algorithm !== 'sha512' && algorithm !== 'sha1') {
        problems.push({ field: `${field}.algorithm`, message: 'algorithm must be sha256, sha512 or sha1' });
      }
      if (encoding !== 'hex' && encoding !== 'base64') {
        problems.push({ field: `${field}.encoding`, message: 'encoding must be hex or base64' });
      }
      if (signed !== 'body' && signed !== 'timestamp.body') {
        problems.push({ field: `${field}.signed`, message: 'signed must be body or timestamp.body' });
      }
      const timestampHeader =
        signed === 'timestamp.body'
          ? headerName('timestampHeader')
          : raw.timestampHeader === undefined
            ? undefined
            : headerName('timestampHeader');
      config = {
        scheme: 'hmac',
        header: headerName('header'),
        algorithm: algorithm as 'sha256',
        encoding: encoding as 'hex',
        prefix: prefix(),
        signed: signed as 'body',
        timestampHeader,
        toleranceMs: toleranceMs(),
      };
    }
  }
  return problems.length > before ? undefined : config;
}

function readSecret(
  raw: unknown,
  verification: VerificationConfig | undefined,
  problems: FieldProblem[],
): string | undefined {
  if (raw === undefined) {
    problems.push({ field: 'secret', message: 'secret is required: the one the provider signs with' });
    return undefined;
  }
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > sourceLimits.maxSecretChars) {
    problems.push({
      field: 'secret',
      message: `secret must be a string of 1 to ${sourceLimits.maxSecretChars} characters`,
    });
    return undefined;
  }
  if (verification?.scheme === 'standard-webhooks' && signingKey(raw) === undefined) {
    problems.push({ field: 'secret', message: 'a Standard Webhooks secret is whsec_ followed by base64' });
    return undefined;
  }
  if (verification?.scheme === 'basic' && !raw.includes(':')) {
    problems.push({ field: 'secret', message: 'a basic secret is user:password' });
    return undefined;
  }
  return raw;
}

function readEventTypeRule(raw: unknown, problems: FieldProblem[]): EventTypeRule | undefined {
  if (
    isObject(raw) &&
    raw.from === 'fixed' &&
    typeof raw.value === 'string' &&
    fixedTypePattern.test(raw.value) &&
    raw.value.length <= 100
  ) {
    return { from: 'fixed', value: raw.value };
  }
  const rule = readLocation(raw, 'eventType', problems, ['fixed', 'body', 'header']);
  return rule?.from === 'hash' ? undefined : rule;
}

function readEventIdRule(raw: unknown, problems: FieldProblem[]): EventIdRule | undefined {
  if (isObject(raw) && raw.from === 'hash' && Object.keys(raw).length === 1) return { from: 'hash' };
  return readLocation(raw, 'eventId', problems, ['body', 'header', 'hash']);
}

function readLocation(
  raw: unknown,
  field: string,
  problems: FieldProblem[],
  kinds: string[],
): { from: 'body'; path: string } | { from: 'header'; name: string } | { from: 'hash' } | undefined {
  if (
    isObject(raw) &&
    raw.from === 'body' &&
    typeof raw.path === 'string' &&
    raw.path.length <= sourceLimits.maxPathChars &&
    bodyPathPattern.test(raw.path)
  ) {
    return { from: 'body', path: raw.path };
  }
  if (
    isObject(raw) &&
    raw.from === 'header' &&
    typeof raw.name === 'string' &&
    headerNamePattern.test(raw.name.toLowerCase())
  ) {
    return { from: 'header', name: raw.name.toLowerCase() };
  }
  const shapes = kinds.map((kind) =>
    kind === 'fixed'
      ? '{"from":"fixed","value":"payment.captured"}'
      : kind === 'body'
        ? '{"from":"body","path":"data.type"}'
        : kind === 'header'
          ? '{"from":"header","name":"x-event-type"}'
          : '{"from":"hash"}',
  );
  problems.push({ field, message: `${field} must be one of ${shapes.join(', ')}` });
  return undefined;
}

function checkNames(raw: Record<string, unknown>, allowed: string[], problems: FieldProblem[]): void {
  for (const name of Object.keys(raw)) {
    if (!allowed.includes(name) && name !== 'secret')
      problems.push({ field: name, message: `${name} is not a source field` });
  }
}

function invalid(errors: FieldProblem[]): SluiceError {
  const first = errors[0];
  return new SluiceError(
    'SLUICE_INVALID_SOURCE',
    first === undefined ? 'invalid source' : `${first.field}: ${first.message}`,
    {
      details: { field: first?.field, errors },
    },
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
