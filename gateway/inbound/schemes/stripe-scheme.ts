import {
  bytesEqual,
  decodeHex,
  hmac,
  isFresh,
  parseUnixSeconds,
  refused,
  verified,
  type VerificationInput,
  type VerificationResult,
} from './verification.js';

const sha256Bytes = 32;

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">[,v1=…][,v0=…]`,
 * keyed with the endpoint secret as text (`whsec_…`, used whole). Several `v1` appear while Stripe
 * rolls a secret; any of them may match any active secret. Older than the tolerance (Stripe's
 * default 300 s) is a replay. Our own code rather than the `stripe` package's `verifyHeader`: it
 * decodes the body as UTF-8 before signing it (so it does not check the exact bytes), takes one
 * secret, and tells a stale timestamp from a bad signature only in its message text. The package's
 * `generateTestHeaderString` is what the tests verify against.
 */
export function verifyStripe(input: VerificationInput, toleranceMs: number): VerificationResult {
  const header = input.headers['stripe-signature'];
  if (header === undefined || header === '') return refused('missing-signature');
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const item of header.split(',')) {
    const equals = item.indexOf('=');
    if (equals < 0) continue;
    const name = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    if (name === 't') timestamp = parseUnixSeconds(value);
    else if (name === 'v1') {
      const decoded = decodeHex(value);
      // A v1 of the wrong length can never match: not counted, like an unknown scheme version.
      if (decoded?.length === sha256Bytes) signatures.push(decoded);
    }
  }
  if (timestamp === undefined || signatures.length === 0) return refused('malformed-signature');
  const prefix = `${timestamp}.`;
  const matches = input.secrets.some((secret) => {
    const expected = hmac('sha256', secret, [prefix, input.body]);
    return signatures.some((given) => bytesEqual(expected, given));
  });
  if (!matches) return refused('bad-signature');
  return isFresh(timestamp, input.nowMs, toleranceMs) ? verified : refused('stale-timestamp');
}
