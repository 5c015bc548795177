import {
  bytesEqual,
  decodeHex,
  hmac,
  refused,
  verified,
  type VerificationInput,
  type VerificationResult,
} from './verification.js';

const prefix = 'sha256=';

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, keyed with the webhook
 * secret as text. GitHub signs no timestamp; `X-GitHub-Delivery` is the id deduplication uses.
 * Our own code rather than `@octokit/webhooks-methods`' `verify`: it takes the body as a string,
 * so it would check a re-encoding of the bytes rather than the bytes. Its `sign` is what the tests
 * verify against.
 */
export function verifyGithub(input: VerificationInput): VerificationResult {
  const header = input.headers['x-hub-signature-256'];
  if (header === undefined || header === '') return refused('missing-signature');
  const given = header.startsWith(prefix) ? decodeHex(header.slice(prefix.length)) : undefined;
  if (given === undefined) return refused('malformed-signature');
  const matches = input.secrets.some((secret) => bytesEqual(hmac('sha256', secret, [input.body]), given));
  return matches ? verified : refused('bad-signature');
}
