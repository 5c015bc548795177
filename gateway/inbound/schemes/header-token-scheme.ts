import {
  refused,
  textsEqual,
  verified,
  type VerificationInput,
  type VerificationResult,
} from './verification.js';

/**
 * A static token in a header (`X-Webhook-Token: <token>`, or `Authorization: Bearer <token>` with
 * prefix `Bearer `). Compared as digests, so no length or prefix of the token leaks.
 */
export function verifyHeaderToken(
  input: VerificationInput,
  config: { header: string; prefix: string },
): VerificationResult {
  const header = input.headers[config.header];
  if (header === undefined || header === '') return refused('missing-signature');
  if (!header.startsWith(config.prefix)) return refused('malformed-signature');
  const token = header.slice(config.prefix.length);
  let matches = false;
  for (const secret of input.secrets) matches = textsEqual(secret, token) || matches;
  return matches ? verified : refused('bad-signature');
}
