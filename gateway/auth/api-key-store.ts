import { readFile } from 'node:fs/promises';
import { timingSafeEqual } from 'node:crypto';
import { SluiceError } from '../../common/errors.js';
import { validateApiKeyEntry, type ApiKeyRecord } from './api-key-entry.js';
import { apiKeyDigest } from './api-key-hash.js';
import { compileEventTypeMatcher, type EventTypeMatcher } from '../../common/event-type-matcher.js';

export type { ApiKeyRecord, ApiKeyRole } from './api-key-entry.js';

/** Longest bearer token accepted; real keys are 51 characters, and hashing is bounded per request. */
const maxTokenChars = 256;
/** RFC 6750 `b64token`; base64url keys (`sk_live_…`) fit it. */
const tokenFormat = /^[A-Za-z0-9\-._~+/]+=*$/;
const base64Format = /^[A-Za-z0-9+/]+={0,2}$/;
/** Compared against when no stored key matches, so both outcomes do the same work. */
const decoyDigest = Buffer.alloc(32);

/** Globs compiled once per record: at load for stored records, on first use for any other. */
const matchers = new WeakMap<ApiKeyRecord, EventTypeMatcher>();

/** How a request may present its API key: `Bearer <key>`, or HTTP Basic with the key as password. */
export type AuthScheme = 'bearer' | 'basic';
const bearerOnly: readonly AuthScheme[] = ['bearer'];

interface StoredKey {
  readonly record: ApiKeyRecord;
  readonly digest: Buffer;
}

/**
 * The API keys a gateway accepts, loaded once at start-up. Only SHA-256 hashes are held.
 *
 * Keys file (`SLUICE_API_KEYS_FILE`): JSON Lines, one entry per line, so `sluice keys create >>
 * keys.jsonl` appends a key; blank lines and lines starting with `#` are ignored. A file whose first
 * non-blank character is `[` is read as one JSON array of entries instead (handy in a Kubernetes
 * Secret). An entry:
 *
 *     {"keyHash":"sha256:<hex>","producerId":"shop-eu","role":"producer",
 *      "allowedEventTypes":["order.*","payment.succeeded"],"ratePerSecond":1000,"burst":2000,
 *      "priority":"normal"}
 *
 * `ratePerSecond` defaults to 1000, `burst` to 2 s of the rate, `priority` to `normal`;
 * `description` and `createdAt` are optional notes. Every problem of every entry is reported at once.
 */
export class ApiKeyStore {
  private readonly byHexDigest: ReadonlyMap<string, StoredKey>;

  constructor(records: readonly ApiKeyRecord[]) {
    const byHexDigest = new Map<string, StoredKey>();
    for (const record of records) {
      if (!/^sha256:[0-9a-f]{64}$/.test(record.keyHash)) {
        throw new Error(`API key record for ${record.producerId} has a malformed keyHash`);
      }
      const hex = record.keyHash.slice('sha256:'.length);
      byHexDigest.set(hex, { record, digest: Buffer.from(hex, 'hex') });
      matchers.set(record, compileEventTypeMatcher(record.allowedEventTypes));
    }
    this.byHexDigest = byHexDigest;
  }

  /** Number of keys loaded. */
  get size(): number {
    return this.byHexDigest.size;
  }

  /**
   * The key's record for an `Authorization` header value, or a 401 SluiceError (returned, not
   * thrown: an unknown key is an expected outcome). The key is never logged nor echoed.
   *
   * `schemes` names what the route accepts: `Bearer <key>` everywhere; HTTP Basic with the key as
   * the password only where clients can send nothing else (Confluent's registry clients and their
   * `basic.auth.user.info`). The user part of Basic is not checked: the key alone identifies.
   *
   * Timing: the presented key is hashed first, so the map lookup works on SHA-256 output; how long
   * it takes can tell an attacker about hashes of keys they chose, never about a stored key (that
   * would need a SHA-256 preimage). The final check compares the 32-byte digests with
   * `timingSafeEqual`, and a miss does the same comparison against a decoy. Both schemes end in
   * this one comparison.
   */
  authenticate(
    authorization: string | undefined,
    schemes: readonly AuthScheme[] = bearerOnly,
  ): ApiKeyRecord | SluiceError {
    const token = presentedKey(authorization, schemes);
    if (token instanceof SluiceError) return token;
    const digest = apiKeyDigest(token);
    const stored = this.byHexDigest.get(digest.toString('hex'));
    const matches = timingSafeEqual(stored?.digest ?? decoyDigest, digest);
    if (stored === undefined || !matches) {
      return unauthenticated('the API key is not recognised', 'unknown-key');
    }
    return stored.record;
  }
}

/** Parses and validates a keys file's text; throws SLUICE_CONFIG_INVALID listing every problem. */
export function parseApiKeyStore(text: string, source = 'API keys file'): ApiKeyStore {
  const problems: string[] = [];
  const records: ApiKeyRecord[] = [];
  const seenHashes = new Map<string, string>();
  for (const { value, label } of entriesOf(text, problems)) {
    const record = validateApiKeyEntry(value, label, problems);
    if (record === undefined) continue;
    const firstLabel = seenHashes.get(record.keyHash);
    if (firstLabel !== undefined) {
      problems.push(`${label}: keyHash is the same as in ${firstLabel}`);
      continue;
    }
    seenHashes.set(record.keyHash, label);
    records.push(record);
  }
  if (problems.length === 0 && records.length === 0) problems.push('no API keys are defined');
  if (problems.length > 0) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', `invalid ${source}:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  return new ApiKeyStore(records);
}

/** Reads and validates the keys file at `path` (the value of `SLUICE_API_KEYS_FILE`). */
export async function loadApiKeyStore(path: string): Promise<ApiKeyStore> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    const message = `SLUICE_API_KEYS_FILE ${path} cannot be read (${reason})`;
    throw new SluiceError('SLUICE_CONFIG_INVALID', message, { cause });
  }
  return parseApiKeyStore(text, `SLUICE_API_KEYS_FILE ${path}`);
}

/** Whether `record` may send events of `eventType`, per its `allowedEventTypes` globs. */
export function isEventTypeAllowed(record: ApiKeyRecord, eventType: string): boolean {
  let matcher = matchers.get(record);
  if (matcher === undefined) {
    matcher = compileEventTypeMatcher(record.allowedEventTypes);
    matchers.set(record, matcher);
  }
  return matcher(eventType);
}

/** Entries of a JSON array file or of a JSON Lines file, each with a label for problem messages. */
function entriesOf(text: string, problems: string[]): Array<{ value: unknown; label: string }> {
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // The parser's message quotes the text around the error, which may be a key: never show it.
      problems.push('the file starts with [ but is not a valid JSON array');
      return [];
    }
    if (!Array.isArray(parsed)) {
      problems.push('the file starts with [ but is not a valid JSON array');
      return [];
    }
    return parsed.map((value: unknown, index) => ({ value, label: `entry ${index}` }));
  }

  const entries: Array<{ value: unknown; label: string }> = [];
  let entryIndex = 0;
  text.split(/\r?\n/).forEach((line, lineIndex) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const label = `entry ${entryIndex} (line ${lineIndex + 1})`;
    entryIndex += 1;
    try {
      entries.push({ value: JSON.parse(trimmed) as unknown, label });
    } catch {
      // As above: the parser's message would quote the line.
      problems.push(`${label}: not valid JSON`);
    }
  });
  return entries;
}

/** The key an `Authorization` header presents in one of `schemes`, or the 401 explaining why there is none. */
function presentedKey(
  authorization: string | undefined,
  schemes: readonly AuthScheme[],
): string | SluiceError {
  const basic = schemes.includes('basic');
  const expected = basic
    ? 'Authorization: Basic (the API key as the password) or Bearer <API key>'
    : 'Authorization: Bearer <API key>';
  if (authorization === undefined || authorization.trim() === '') {
    return unauthenticated(`the Authorization header is missing; send ${expected}`, 'missing');
  }
  const match = /^([^\s]+)(?:\s+(.*))?$/.exec(authorization.trim());
  // Auth schemes are case-insensitive (RFC 9110 §11.1).
  const scheme = (match?.[1] ?? '').toLowerCase();
  const credentials = match?.[2];
  if (scheme === 'basic' && basic) return basicPassword(credentials);
  if (scheme !== 'bearer' || !schemes.includes('bearer')) {
    const message = basic
      ? 'the Authorization header must use the Basic or Bearer scheme'
      : 'the Authorization header must use the Bearer scheme';
    return unauthenticated(message, 'wrong-scheme');
  }
  const malformed = basic
    ? 'the Authorization header is malformed; expected Basic base64(user:API key) or Bearer <API key>'
    : 'the Authorization header is malformed; expected Bearer <API key>';
  return checkedKey(credentials, malformed);
}

/** The password of HTTP Basic credentials (RFC 7617 `base64(user:password)`): the API key. */
function basicPassword(credentials: string | undefined): string | SluiceError {
  const message = 'the Authorization header is malformed; expected Basic base64(user:API key)';
  // base64 of `user:key` stays within twice the longest key, whatever the user.
  if (
    credentials === undefined ||
    credentials.length > 2 * maxTokenChars ||
    !base64Format.test(credentials)
  ) {
    return unauthenticated(message, 'malformed');
  }
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? unauthenticated(message, 'malformed') : checkedKey(decoded.slice(colon + 1), message);
}

function checkedKey(token: string | undefined, message: string): string | SluiceError {
  if (token === undefined || token.length > maxTokenChars || !tokenFormat.test(token)) {
    return unauthenticated(message, 'malformed');
  }
  return token;
}

function unauthenticated(message: string, reason: string): SluiceError {
  return new SluiceError('SLUICE_UNAUTHENTICATED', message, { details: { reason } });
}
