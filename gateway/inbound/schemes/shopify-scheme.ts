import {
  bytesEqual,
  decodeBase64,
  hmac,
  refused,
  verified,
  type VerificationInput,
  type VerificationResult,
} from './verification.js';

/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`, keyed with the app's client
 * secret as text. No timestamp is signed; `X-Shopify-Webhook-Id` is the id deduplication uses.
 */
export function verifyShopify(input: VerificationInput): VerificationResult {
  const header = input.headers['x-shopify-hmac-sha256'];
  if (header === undefined || header === '') return refused('missing-signature');
  const given = decodeBase64(header.trim());
  if (given === undefined) return refused('malformed-signature');
  const matches = input.secrets.some((secret) => bytesEqual(hmac('sha256', secret, [input.body]), given));
  return matches ? verified : refused('bad-signature');
}
