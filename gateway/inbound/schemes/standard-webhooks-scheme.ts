import {
  bytesEqual,
  decodeBase64,
  hmac,
  isFresh,
  parseUnixSeconds,
  refused,
  verified,
  type VerificationInput,
  type VerificationResult,
} from './verification.js';

const secretPrefix = 'whsec_';

/**
 * Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (several,
 * space-separated), keyed with the base64-decoded `whsec_` secret, plus `webhook-id` and
 * `webhook-timestamp`. Our own code rather than the `standardwebhooks` package: its `verify` parses
 * the body as JSON (refusing non-JSON payloads, and parsing before we decided to), takes one secret
 * and has a fixed tolerance. The package's `sign` is what the tests verify against.
 */
export function verifyStandardWebhooks(input: VerificationInput, toleranceMs: number): VerificationResult {
  const id = input.headers['webhook-id'];
  const timestampText = input.headers['webhook-timestamp'];
  const header = input.headers['webhook-signature'];
  if (header === undefined || header === '') return refused('missing-signature');
  const timestamp = parseUnixSeconds(timestampText);
  if (id === undefined || id === '' || timestamp === undefined) return refused('malformed-signature');
  const signatures: Buffer[] = [];
  for (const entry of header.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const decoded = decodeBase64(entry.slice(comma + 1));
    if (decoded !== undefined) signatures.push(decoded);
  }
  if (signatures.length === 0) return refused('malformed-signature');
  const prefix = `${id}.${timestamp}.`;
  const matches = input.secrets.some((secret) => {
    const key = signingKey(secret);
    if (key === undefined) return false;
    const expected = hmac('sha256', key, [prefix, input.body]);
    return signatures.some((given) => bytesEqual(expected, given));
  });
  if (!matches) return refused('bad-signature');
  return isFresh(timestamp, input.nowMs, toleranceMs) ? verified : refused('stale-timestamp');
}

/** The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries). */
export function signingKey(secret: string): Buffer | undefined {
  return decodeBase64(secret.startsWith(secretPrefix) ? secret.slice(secretPrefix.length) : secret);
}
