import { createHash } from 'node:crypto';
import { SluiceError } from '../../common/errors.js';
import type { Source } from '../sources/source.js';

export interface DerivedInboundEvent {
  /** `<source name>.<provider type>`, e.g. `stripe.payment_intent.succeeded`. */
  type: string;
  providerEventId: string;
}

const maxTypeLength = 128;
const maxProviderIdLength = 512;
const typePattern = /^[a-z0-9][a-z0-9_.-]*$/i;

/**
 * Reads the event type and the provider's event id of a verified request, as its source says.
 * The body is parsed as JSON only when a rule reads a body field, and only after verification.
 * Shopify's `orders/create` becomes `orders.create`: a type is dotted.
 */
export function deriveInboundEvent(
  source: Source,
  body: Buffer,
  headers: Readonly<Record<string, string>>,
): DerivedInboundEvent | SluiceError {
  let parsed: { json: unknown } | undefined;
  const json = (field: string): unknown => {
    if (parsed === undefined) {
      try {
        parsed = { json: JSON.parse(body.toString('utf8')) as unknown };
      } catch {
        throw malformed(field, `the body is not JSON, and source ${source.name} reads its ${field} from it`);
      }
    }
    return parsed.json;
  };
  try {
    const rule = source.eventType;
    const rawType =
      rule.from === 'fixed'
        ? rule.value
        : rule.from === 'header'
          ? headers[rule.name]
          : fieldAt(json('eventType'), rule.path);
    if (typeof rawType !== 'string' || rawType === '') {
      const where =
        rule.from === 'header'
          ? `header ${rule.name}`
          : rule.from === 'body'
            ? `body field ${rule.path}`
            : 'rule';
      return malformed('eventType', `no event type in ${where}`);
    }
    const type = `${source.name}.${rawType.replaceAll('/', '.')}`;
    if (type.length > maxTypeLength || !typePattern.test(type)) {
      return malformed(
        'eventType',
        `the event type ${JSON.stringify(type.slice(0, maxTypeLength))} is not a valid type name`,
      );
    }
    const idRule = source.eventId;
    let providerEventId: unknown;
    if (idRule.from === 'hash') providerEventId = createHash('sha256').update(body).digest('hex');
    else if (idRule.from === 'header') providerEventId = headers[idRule.name];
    else providerEventId = fieldAt(json('eventId'), idRule.path);
    if (typeof providerEventId === 'number' && Number.isFinite(providerEventId))
      providerEventId = String(providerEventId);
    if (
      typeof providerEventId !== 'string' ||
      providerEventId === '' ||
      providerEventId.length > maxProviderIdLength
    ) {
      const where =
        idRule.from === 'header'
          ? `header ${idRule.name}`
          : `body field ${idRule.from === 'body' ? idRule.path : ''}`;
      return malformed('eventId', `no event id (1-${maxProviderIdLength} characters) in ${where}`);
    }
    return { type, providerEventId };
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
}

function fieldAt(root: unknown, path: string): unknown {
  let value = root;
  for (const segment of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function malformed(field: string, detail: string): SluiceError {
  return new SluiceError('SLUICE_MALFORMED_REQUEST', detail, { details: { field } });
}

/** Headers kept in the record beside the body: the provider's own, never a credential. */
const keptPrefixes = ['x-github-', 'x-shopify-', 'x-hub-signature', 'stripe-', 'webhook-'];
const keptNames = new Set(['user-agent', 'content-type']);
const maxKeptHeaderBytes = 16 * 1024;

export function providerHeaders(
  source: Source,
  headers: Readonly<Record<string, string>>,
): Record<string, string> {
  const secretHeader = source.verification.scheme === 'header-token' ? source.verification.header : undefined;
  const signatureHeader = source.verification.scheme === 'hmac' ? source.verification.header : undefined;
  const timestampHeader =
    source.verification.scheme === 'hmac' ? source.verification.timestampHeader : undefined;
  const kept: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'authorization' || name === 'cookie' || name === secretHeader) continue;
    const keep =
      keptNames.has(name) ||
      name === signatureHeader ||
      name === timestampHeader ||
      keptPrefixes.some((prefix) => name.startsWith(prefix));
    if (!keep) continue;
    bytes += name.length + value.length;
    if (bytes > maxKeptHeaderBytes) break;
    kept[name] = value;
  }
  return kept;
}
