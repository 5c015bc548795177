import {
  decodeBase64,
  refused,
  textsEqual,
  verified,
  type VerificationInput,
  type VerificationResult,
} from './verification.js';

/**
 * HTTP Basic authentication (RFC 7617): `Authorization: Basic <base64 of user:password>`; each
 * secret is a whole `user:password`. Compared as digests, so no length or prefix leaks.
 */
export function verifyBasic(input: VerificationInput): VerificationResult {
  const header = input.headers.authorization;
  if (header === undefined || header === '') return refused('missing-signature');
  const match = /^basic +(\S+)$/i.exec(header.trim());
  const decoded = match === null ? undefined : decodeBase64(match[1] as string);
  if (decoded === undefined) return refused('malformed-signature');
  const credentials = decoded.toString('utf8');
  // Every secret is compared, whichever matches: the time does not say which one did.
  let matches = false;
  for (const secret of input.secrets) matches = textsEqual(secret, credentials) || matches;
  return matches ? verified : refused('bad-signature');
}
