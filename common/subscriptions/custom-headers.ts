import type { FieldProblem } from './subscription-input.js';

/**
 * A static header a subscription sends with every attempt (receiver auth behind an API gateway:
 * `authorization`, `x-api-key`…). Names are kept in lower case (HTTP names are case-insensitive,
 * HTTP/2 sends them so). A secret one is encrypted on the subscriptions topic like a signing secret
 * and never shown by the API; here, in memory, its value is plain.
 */
export interface CustomHeader {
  readonly name: string;
  readonly value: string;
  readonly secret: boolean;
}

/** A header as a request gives it; `value` undefined (patch only) keeps the stored secret value. */
export interface CustomHeaderInput {
  name: string;
  value: string | undefined;
  secret: boolean;
}

/** How a header shows in API answers: the value of a plain one, never that of a secret one. */
export type CustomHeaderResource = string | { secret: true };

export const customHeaderLimits = {
  maxHeaders: 20,
  maxNameChars: 64,
  /** Room for a long bearer token (a JWT with many claims). */
  maxValueChars: 4096,
  /** Names and values together, well below the 8-16 KiB header limits common servers keep. */
  maxTotalBytes: 8 * 1024,
} as const;

/**
 * Headers Sluice sets itself, or that describe the connection or the body's framing, which a
 * static value would break (HTTP/2 forbids the connection-specific ones outright; undici refuses
 * several with an error): refused when saved, and dropped again before sending.
 */
const reservedNames: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'host',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'http2-settings',
]);
/** Standard Webhooks' headers, CloudEvents' HTTP binding, Sluice's provenance, and proxies'. */
const reservedPrefixes = ['webhook-', 'ce-', 'sluice-', 'proxy-'];
/** RFC 9110 token. */
const namePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII with inner spaces or tabs: no CR, LF or NUL, nothing a receiver could split on. */
const valuePattern = /^[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?$/;

/** Whether a (lower-case) header name is one a subscription may not set. */
export function isReservedHeaderName(name: string): boolean {
  return reservedNames.has(name) || reservedPrefixes.some((prefix) => name.startsWith(prefix));
}

/**
 * Checks `headers`: an object of name → value, where a value is a string (plain) or
 * `{"value": "…", "secret": true}`; with `keepAllowed` (a patch), `{"secret": true}` without a value
 * keeps the value stored under that name. Every problem is named; no value is ever quoted.
 */
export function parseCustomHeaders(
  raw: unknown,
  keepAllowed: boolean,
  field = 'headers',
): { headers: CustomHeaderInput[] } | { problems: FieldProblem[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      problems: [
        {
          field,
          message: `${field} must be an object of header name → value (a string, or {"value": "…", "secret": true}), or null`,
        },
      ],
    };
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  const problems: FieldProblem[] = [];
  if (entries.length > customHeaderLimits.maxHeaders) {
    problems.push({ field, message: `${field} may hold at most ${customHeaderLimits.maxHeaders} headers` });
    return { problems };
  }
  const headers: CustomHeaderInput[] = [];
  const seen = new Set<string>();
  let totalBytes = 0;
  for (const [givenName, given] of entries) {
    const at = `${field}[${JSON.stringify(givenName)}]`;
    const name = givenName.toLowerCase();
    const problem = (message: string) => problems.push({ field: at, message });
    if (givenName.length > customHeaderLimits.maxNameChars || !namePattern.test(givenName)) {
      problem(
        `a header name is 1 to ${customHeaderLimits.maxNameChars} token characters (RFC 9110: letters, digits and !#$%&'*+-.^_\`|~)`,
      );
      continue;
    }
    if (isReservedHeaderName(name)) {
      problem(
        `${name} is reserved: Sluice sets it, or it belongs to the connection (webhook-*, ce-*, sluice-*, proxy-*, content-type, content-length, host, user-agent, connection, transfer-encoding… are refused)`,
      );
      continue;
    }
    if (seen.has(name)) {
      problem(`${name} is given twice (header names are case-insensitive)`);
      continue;
    }
    seen.add(name);
    const parsed = parseValue(given, keepAllowed);
    if (typeof parsed === 'string') {
      problem(parsed);
      continue;
    }
    totalBytes += name.length + (parsed.value?.length ?? 0);
    headers.push({ name, ...parsed });
  }
  if (totalBytes > customHeaderLimits.maxTotalBytes) {
    problems.push({
      field,
      message: `${field} may hold at most ${customHeaderLimits.maxTotalBytes} bytes of names and values`,
    });
  }
  return problems.length > 0 ? { problems } : { headers };
}

function parseValue(given: unknown, keepAllowed: boolean): Omit<CustomHeaderInput, 'name'> | string {
  const valueRule = `a header value is 1 to ${customHeaderLimits.maxValueChars} visible ASCII characters, with spaces or tabs only inside (no line breaks)`;
  if (typeof given === 'string') return isValidValue(given) ? { value: given, secret: false } : valueRule;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    return 'a header is a string, or {"value": "…", "secret": true}';
  }
  const { value, secret, ...rest } = given as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `unknown field ${extra[0]}: a header object holds value and secret only`;
  if (secret !== undefined && typeof secret !== 'boolean') return 'secret must be true or false';
  if (value === undefined) {
    if (secret === true && keepAllowed) return { value: undefined, secret: true };
    return keepAllowed
      ? 'value is required, except in {"secret": true}, which keeps the stored secret value'
      : 'value is required';
  }
  if (typeof value !== 'string' || !isValidValue(value)) return valueRule;
  return { value, secret: secret === true };
}

function isValidValue(value: string): boolean {
  return value.length <= customHeaderLimits.maxValueChars && valuePattern.test(value);
}

/**
 * The headers to store: inputs with a value as given, `{"secret": true}` ones with the value the
 * subscription holds under that name, which must be a secret one; else problems naming them.
 */
export function resolveCustomHeaders(
  inputs: readonly CustomHeaderInput[],
  current: readonly CustomHeader[],
  field = 'headers',
): CustomHeader[] | FieldProblem[] {
  const problems: FieldProblem[] = [];
  const headers: CustomHeader[] = [];
  for (const input of inputs) {
    if (input.value !== undefined) {
      headers.push({ name: input.name, value: input.value, secret: input.secret });
      continue;
    }
    const stored = current.find((header) => header.name === input.name && header.secret);
    if (stored === undefined) {
      problems.push({
        field: `${field}[${JSON.stringify(input.name)}]`,
        message: `no secret value is stored for ${input.name} to keep; send {"value": "…", "secret": true}`,
      });
    } else {
      headers.push(stored);
    }
  }
  return problems.length > 0 ? problems : headers;
}

/** The headers as API answers show them: plain values, and `{"secret": true}` in place of secret ones. */
export function customHeadersResource(
  headers: readonly CustomHeader[] | undefined,
): Record<string, CustomHeaderResource> {
  const shown: Record<string, CustomHeaderResource> = {};
  for (const header of headers ?? []) shown[header.name] = header.secret ? { secret: true } : header.value;
  return shown;
}

/** Whether a stored header may be sent: the rules of `parseCustomHeaders` (a record is re-checked on reading). */
export function isSendableHeader(header: { name: string; value: string }): boolean {
  return (
    header.name.length <= customHeaderLimits.maxNameChars &&
    namePattern.test(header.name) &&
    header.name === header.name.toLowerCase() &&
    !isReservedHeaderName(header.name) &&
    isValidValue(header.value)
  );
}
